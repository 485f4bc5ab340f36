package eventbus

import (
	"sync"
	"time"

	"github.com/chatd/chatd/internal/adapters/eventqueue"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// topic is one session's ordered events and subscribers.
type topic struct {
	mu         sync.Mutex
	seq        int64
	window     window
	maxAge     time.Duration
	subs       map[*subscription]struct{}
	lastActive time.Time
}

// newTopic starts the seq from the clock (milliseconds x 1000), so seqs keep
// increasing across restarts and evictions: a client holding a seq from an
// earlier process is behind every new event, never ahead of them.
func newTopic(cfg Config, now time.Time) *topic {
	return &topic{
		seq:        now.UnixMilli() * 1000,
		window:     newWindow(cfg.ReplayEvents),
		maxAge:     cfg.ReplayAge,
		subs:       map[*subscription]struct{}{},
		lastActive: now,
	}
}

func (t *topic) publish(e domain.SessionEvent, now time.Time, ordered bool) domain.SessionEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lastActive = now
	if ordered {
		t.seq++
		e.Seq = t.seq
		t.window.push(stamped{event: e, at: now})
		t.window.dropOlderThan(now.Add(-t.maxAge))
	} else {
		e.Seq = 0
	}
	for s := range t.subs {
		if !s.q.Push(e) {
			// Never skip an event silently: end the subscription so its
			// reader resumes from the last seq it saw.
			delete(t.subs, s)
			s.end(ports.ErrSlowConsumer)
		}
	}
	return e
}

func (t *topic) subscribe(afterSeq int64, buffer int, now time.Time) (*subscription, ports.Resume) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lastActive = now
	res := t.resumeLocked(afterSeq, now)
	s := &subscription{topic: t, q: eventqueue.New(buffer)}
	t.subs[s] = struct{}{}
	return s, res
}

func (t *topic) replay(afterSeq int64, now time.Time) ports.Resume {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.resumeLocked(afterSeq, now)
}

func (t *topic) resumeLocked(afterSeq int64, now time.Time) ports.Resume {
	res := ports.Resume{LastSeq: t.seq, Complete: true}
	switch {
	case afterSeq < 0 || afterSeq == t.seq:
	case afterSeq > t.seq:
		res.Complete = false // a seq this process never gave: start from a snapshot
	default:
		t.window.dropOlderThan(now.Add(-t.maxAge))
		res.Backlog, res.Complete = t.window.after(afterSeq)
	}
	return res
}

func (t *topic) recent(now time.Time) ([]domain.SessionEvent, int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.window.dropOlderThan(now.Add(-t.maxAge))
	out := make([]domain.SessionEvent, len(t.window.events))
	for i, s := range t.window.events {
		out[i] = s.event
	}
	return out, t.seq
}

func (t *topic) lastSeq() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.seq
}

func (t *topic) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for s := range t.subs {
		delete(t.subs, s)
		s.end(nil)
	}
}

func (t *topic) idleSince(cutoff time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.subs) == 0 && t.lastActive.Before(cutoff)
}

func (t *topic) unsubscribe(s *subscription) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.subs[s]; ok {
		delete(t.subs, s)
		s.end(nil)
	}
}

// subscription's queue is ended under its topic's lock.
type subscription struct {
	topic *topic
	q     *eventqueue.Queue
}

var _ ports.Subscription = (*subscription)(nil)

func (s *subscription) Events() <-chan domain.SessionEvent { return s.q.C() }

func (s *subscription) Err() error { return s.q.Err() }

// Close ends the subscription and drops what its reader will not read.
func (s *subscription) Close() {
	s.topic.unsubscribe(s)
	s.q.Abandon()
}

// end is called with the topic's lock held; only the first end counts.
func (s *subscription) end(err error) { s.q.End(err) }
