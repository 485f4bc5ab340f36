package ports

import (
	"errors"

	"github.com/chatd/chatd/internal/domain"
)

// ErrSlowConsumer ends a subscription whose reader fell behind: its buffer
// filled, so rather than skip events silently the subscription is closed and
// the reader must resume from its last seq.
var ErrSlowConsumer = errors.New("slow consumer")

// Subscription receives one session's events in seq order.
type Subscription interface {
	// Events is closed when the subscription ends.
	Events() <-chan domain.SessionEvent
	// Err tells why Events was closed: ErrSlowConsumer, or nil after Close.
	Err() error
	Close()
}

// Resume is what a new subscription starts from.
type Resume struct {
	// Backlog holds the events after the requested seq, when the replay
	// window still had all of them.
	Backlog []domain.SessionEvent
	// Complete is false when events after the requested seq were already
	// dropped from the window: the subscriber needs a fresh snapshot.
	Complete bool
	// LastSeq is the seq of the newest event published before the
	// subscription began.
	LastSeq int64
}

// SessionEvents orders and fans out each session's events. Nothing outside
// its adapter may assume that publisher and subscriber share a process.
type SessionEvents interface {
	// Publish gives e the session's next seq and delivers it to subscribers.
	Publish(e domain.SessionEvent) domain.SessionEvent
	// Signal delivers a best-effort event (typing, presence) without a seq.
	Signal(e domain.SessionEvent)
	// Subscribe starts receiving the session's events published after
	// afterSeq; afterSeq < 0 means "from now on".
	Subscribe(sessionID string, afterSeq int64, buffer int) (Subscription, Resume)
	// Replay returns the events published after afterSeq that the window
	// still holds, without subscribing (a socket resuming in a room that is
	// already subscribed).
	Replay(sessionID string, afterSeq int64) Resume
	// LastSeq is the seq of the session's newest event.
	LastSeq(sessionID string) int64
	// Close ends the session's subscriptions (the session was deleted).
	Close(sessionID string)
}
