package fakes

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

var _ ports.SessionEvents = (*Bus)(nil)

// Bus is an in-memory SessionEvents. Each session's seqs count from 1. The
// replay window keeps every event unless SetWindow bounds it; a subscriber
// whose buffer is full is ended with ports.ErrSlowConsumer, never skipped.
// Everything published and signalled is also recorded for assertions.
type Bus struct {
	mu     sync.Mutex
	window int // events kept for replay per session; 0 keeps all
	topics map[string]*busTopic
	closed map[string]int
	refuse int // publishes still to refuse, as a broker that is away would
}

type busTopic struct {
	seq       int64
	window    []domain.SessionEvent
	published []domain.SessionEvent
	signals   []domain.SessionEvent
	subs      map[*busSub]struct{}
}

// NewBus returns an empty bus.
func NewBus() *Bus {
	return &Bus{topics: map[string]*busTopic{}, closed: map[string]int{}}
}

// SetWindow bounds how many of each session's newest events stay
// replayable; 0 keeps them all. Older events are dropped now and from then on.
func (b *Bus) SetWindow(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.window = n
	for _, t := range b.topics {
		t.trim(n)
	}
}

func (b *Bus) topicLocked(sessionID string) *busTopic {
	t := b.topics[sessionID]
	if t == nil {
		t = &busTopic{subs: map[*busSub]struct{}{}}
		b.topics[sessionID] = t
	}
	return t
}

func (t *busTopic) trim(n int) {
	if n > 0 && len(t.window) > n {
		t.window = slices.Clone(t.window[len(t.window)-n:])
	}
}

// RefusePublishes makes the next n publishes fail, as a broker that went
// away would, without a seq or a delivery.
func (b *Bus) RefusePublishes(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refuse = n
}

// ErrBrokerAway is what a refused publish returns.
var ErrBrokerAway = errors.New("fakes: the broker is away")

// Publish gives e the session's next seq, keeps it for replay and delivers
// it to every subscriber.
func (b *Bus) Publish(_ context.Context, e domain.SessionEvent) (domain.SessionEvent, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.refuse > 0 {
		b.refuse--
		return domain.SessionEvent{}, ErrBrokerAway
	}
	t := b.topicLocked(e.SessionID)
	t.seq++
	e.Seq = t.seq
	t.window = append(t.window, e)
	t.trim(b.window)
	t.published = append(t.published, e)
	t.deliver(e)
	return e, nil
}

// Signal delivers e without a seq to current subscribers only.
func (b *Bus) Signal(_ context.Context, e domain.SessionEvent) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.topicLocked(e.SessionID)
	e.Seq = 0
	t.signals = append(t.signals, e)
	t.deliver(e)
	return nil
}

func (t *busTopic) deliver(e domain.SessionEvent) {
	for s := range t.subs {
		select {
		case s.ch <- e:
		default:
			delete(t.subs, s)
			s.end(ports.ErrSlowConsumer)
		}
	}
}

// Subscribe starts a subscription of the session's events published from
// now on, and tells what was published after afterSeq (see Replay).
func (b *Bus) Subscribe(_ context.Context, sessionID string, afterSeq int64, buffer int) (ports.Subscription, ports.Resume, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.topicLocked(sessionID)
	res := t.resume(afterSeq)
	s := &busSub{bus: b, topic: t, ch: make(chan domain.SessionEvent, max(0, buffer))}
	t.subs[s] = struct{}{}
	return s, res, nil
}

// Replay returns the events after afterSeq when the window still holds all
// of them (Complete), else Complete is false: the reader needs a snapshot.
// afterSeq < 0 or equal to the last seq asks for nothing; a seq the bus
// never gave is incomplete.
func (b *Bus) Replay(_ context.Context, sessionID string, afterSeq int64) (ports.Resume, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.topicLocked(sessionID).resume(afterSeq), nil
}

// Recent returns the window's events and the newest seq.
func (b *Bus) Recent(_ context.Context, sessionID string) ([]domain.SessionEvent, int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.topicLocked(sessionID)
	return slices.Clone(t.window), t.seq, nil
}

func (t *busTopic) resume(afterSeq int64) ports.Resume {
	res := ports.Resume{LastSeq: t.seq, Complete: true}
	switch {
	case afterSeq < 0 || afterSeq == t.seq:
	case afterSeq > t.seq:
		res.Complete = false
	default:
		if len(t.window) == 0 || t.window[0].Seq > afterSeq+1 {
			res.Complete = false
			return res
		}
		for _, e := range t.window {
			if e.Seq > afterSeq {
				res.Backlog = append(res.Backlog, e)
			}
		}
	}
	return res
}

// LastSeq is the seq of the session's newest event, 0 before any.
func (b *Bus) LastSeq(_ context.Context, sessionID string) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t := b.topics[sessionID]; t != nil {
		return t.seq, nil
	}
	return 0, nil
}

// Close ends every subscription of the session. The session's seq and
// records stay, so later events still count up and remain inspectable.
func (b *Bus) Close(_ context.Context, sessionID string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed[sessionID]++
	if t := b.topics[sessionID]; t != nil {
		for s := range t.subs {
			delete(t.subs, s)
			s.end(nil)
		}
		t.window = nil
	}
	return nil
}

// Published lists every event published for the session, in seq order.
func (b *Bus) Published(sessionID string) []domain.SessionEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t := b.topics[sessionID]; t != nil {
		return slices.Clone(t.published)
	}
	return nil
}

// Signals lists every best-effort event signalled for the session.
func (b *Bus) Signals(sessionID string) []domain.SessionEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t := b.topics[sessionID]; t != nil {
		return slices.Clone(t.signals)
	}
	return nil
}

// Closed tells how many times Close was called for the session.
func (b *Bus) Closed(sessionID string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed[sessionID]
}

// Subscribers is how many subscriptions of the session are open.
func (b *Bus) Subscribers(sessionID string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t := b.topics[sessionID]; t != nil {
		return len(t.subs)
	}
	return 0
}

// busSub's channel is closed once, under the bus's lock.
type busSub struct {
	bus   *Bus
	topic *busTopic
	ch    chan domain.SessionEvent
	err   error
	ended bool
}

var _ ports.Subscription = (*busSub)(nil)

func (s *busSub) Events() <-chan domain.SessionEvent { return s.ch }

func (s *busSub) Err() error {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	return s.err
}

func (s *busSub) Close() {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	if _, ok := s.topic.subs[s]; ok {
		delete(s.topic.subs, s)
		s.end(nil)
	}
}

func (s *busSub) end(err error) {
	if s.ended {
		return
	}
	s.ended, s.err = true, err
	close(s.ch)
}
