// Package eventbus is the in-process SessionEvents: it orders each session's
// events, keeps a bounded replay window and fans events out to subscribers.
// A broker-backed implementation can replace it when chatd runs as several
// processes; nothing outside this package assumes a shared process.
package eventbus

import (
	"context"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// Config bounds the replay window and the memory of idle sessions.
type Config struct {
	ReplayEvents int           // events kept per session for resume
	ReplayAge    time.Duration // events older than this are not replayed
	IdleEvict    time.Duration // a session with no subscriber and no event for this long is forgotten
}

// DefaultConfig is what chatd runs with unless configured otherwise.
var DefaultConfig = Config{ReplayEvents: 2048, ReplayAge: 5 * time.Minute, IdleEvict: 10 * time.Minute}

var _ ports.SessionEvents = (*Bus)(nil)

// Bus is safe for concurrent use. Each session has its own lock, so sessions
// never wait for each other on the token path.
type Bus struct {
	cfg    Config
	now    func() time.Time
	mu     sync.RWMutex
	topics map[string]*topic
}

// New builds a bus; now is the clock (time.Now in production).
func New(cfg Config, now func() time.Time) *Bus {
	if cfg.ReplayEvents <= 0 {
		cfg.ReplayEvents = DefaultConfig.ReplayEvents
	}
	if cfg.ReplayAge <= 0 {
		cfg.ReplayAge = DefaultConfig.ReplayAge
	}
	if cfg.IdleEvict <= 0 {
		cfg.IdleEvict = DefaultConfig.IdleEvict
	}
	return &Bus{cfg: cfg, now: now, topics: map[string]*topic{}}
}

func (b *Bus) topic(sessionID string) *topic {
	b.mu.RLock()
	t := b.topics[sessionID]
	b.mu.RUnlock()
	if t != nil {
		return t
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if t = b.topics[sessionID]; t == nil {
		t = newTopic(b.cfg, b.now())
		b.topics[sessionID] = t
	}
	return t
}

// Publish gives e the session's next seq and delivers it.
func (b *Bus) Publish(_ context.Context, e domain.SessionEvent) (domain.SessionEvent, error) {
	return b.topic(e.SessionID).publish(e, b.now(), true), nil
}

// Signal delivers e to current subscribers only, without a seq.
func (b *Bus) Signal(_ context.Context, e domain.SessionEvent) error {
	b.topic(e.SessionID).publish(e, b.now(), false)
	return nil
}

// Subscribe starts a subscription after afterSeq (negative: from now).
func (b *Bus) Subscribe(_ context.Context, sessionID string, afterSeq int64, buffer int) (ports.Subscription, ports.Resume, error) {
	sub, res := b.topic(sessionID).subscribe(afterSeq, buffer, b.now())
	return sub, res, nil
}

// Replay returns what the window holds after afterSeq.
func (b *Bus) Replay(_ context.Context, sessionID string, afterSeq int64) (ports.Resume, error) {
	return b.topic(sessionID).replay(afterSeq, b.now()), nil
}

// Recent returns the window's events and the newest seq.
func (b *Bus) Recent(_ context.Context, sessionID string) ([]domain.SessionEvent, int64, error) {
	events, last := b.topic(sessionID).recent(b.now())
	return events, last, nil
}

// LastSeq is the seq of the session's newest event.
func (b *Bus) LastSeq(_ context.Context, sessionID string) (int64, error) {
	return b.topic(sessionID).lastSeq(), nil
}

// Close ends every subscription of the session and forgets it.
func (b *Bus) Close(_ context.Context, sessionID string) error {
	b.mu.Lock()
	t := b.topics[sessionID]
	delete(b.topics, sessionID)
	b.mu.Unlock()
	if t != nil {
		t.closeAll()
	}
	return nil
}

// Evict forgets sessions that have neither subscribers nor recent events, so
// memory follows active sessions, not every session ever seen.
func (b *Bus) Evict() int {
	cutoff := b.now().Add(-b.cfg.IdleEvict)
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for id, t := range b.topics {
		if t.idleSince(cutoff) {
			delete(b.topics, id)
			n++
		}
	}
	return n
}

// Sessions is how many sessions the bus holds state for.
func (b *Bus) Sessions() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.topics)
}
