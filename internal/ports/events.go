package ports

import (
	"context"
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

// SessionPublisher orders each session's events and delivers them to every
// subscriber of the service, in whichever process it runs. Every call may
// reach a broker, so each takes a context and may fail; a failed Publish
// gave out no seq.
type SessionPublisher interface {
	// Publish gives e the session's next seq and delivers it to subscribers.
	Publish(ctx context.Context, e domain.SessionEvent) (domain.SessionEvent, error)
	// Signal delivers a best-effort event (typing, presence) without a seq.
	Signal(ctx context.Context, e domain.SessionEvent) error
	// Close ends the session's subscriptions in every process (the session
	// was deleted) and forgets its events.
	Close(ctx context.Context, sessionID string) error
}

// SessionSubscriber reads each session's events, wherever they were
// published. Nothing outside its adapter may assume that publisher and
// subscriber share a process.
type SessionSubscriber interface {
	// Subscribe starts receiving the session's events published after
	// afterSeq; afterSeq < 0 means "from now on".
	Subscribe(ctx context.Context, sessionID string, afterSeq int64, buffer int) (Subscription, Resume, error)
	// Replay returns the events published after afterSeq that the window
	// still holds, without subscribing (a socket resuming in a room that is
	// already subscribed).
	Replay(ctx context.Context, sessionID string, afterSeq int64) (Resume, error)
	// LastSeq is the seq of the session's newest event.
	LastSeq(ctx context.Context, sessionID string) (int64, error)
	// Recent returns, read together, the events the replay window holds
	// (oldest first) and the seq of the newest event: what any process can
	// rebuild a session's state from.
	Recent(ctx context.Context, sessionID string) ([]domain.SessionEvent, int64, error)
}

// SessionEvents is both sides, as one adapter provides them.
type SessionEvents interface {
	SessionPublisher
	SessionSubscriber
}

// ReplyControl reaches the process that generates a reply, wherever it runs.
type ReplyControl interface {
	// RequestCancel asks whichever process generates replyID to stop it. It
	// returns once the request is on its way, not when the reply stopped.
	RequestCancel(ctx context.Context, replyID string) error
	// HandleCancels sets the function called in this process for every
	// cancel request of the service (this process's own included); a
	// process that does not generate replyID ignores it. Set once, at start.
	HandleCancels(fn func(replyID string))
}

// Presence tells whether a user is in a session anywhere in the service. A
// process counts its own sockets; it reports here only the first of a
// user's sockets in a session on it (Arrive) and the last (Depart), and
// learns whether that made the user online or offline for everyone: a user
// is online from their first socket to their last, on whatever processes.
type Presence interface {
	// Arrive records that this process has a socket of userID in the
	// session; first reports that no other process has one.
	Arrive(ctx context.Context, sessionID, userID string) (first bool, err error)
	// Depart records that this process has no socket of userID in the
	// session any more; last reports that no other process has one.
	Depart(ctx context.Context, sessionID, userID string) (last bool, err error)
}
