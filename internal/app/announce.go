package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// announceTimeout bounds one publish: a broker that does not answer must not
// hold a request or a token stream for long.
const announceTimeout = 2 * time.Second

// Announcer tells a session's subscribers what a use case changed. Every
// change is stored before it is announced, so a broker that refuses an event
// fails nothing: the loss is logged, and clients catch up from what is
// stored (each final message event carries the whole message, and a client
// that resumes past a gap gets a snapshot).
type Announcer struct {
	events ports.SessionPublisher
	log    *slog.Logger
}

// NewAnnouncer builds the announcer over the service's publisher.
func NewAnnouncer(events ports.SessionPublisher, log *slog.Logger) *Announcer {
	return &Announcer{events: events, log: log.With("component", "announcer")}
}

// Publish announces e with the session's next seq; it reports whether the
// broker took it.
func (a *Announcer) Publish(ctx context.Context, e domain.SessionEvent) bool {
	return a.announce(ctx, e) > 0
}

// announce publishes e and returns the seq it got, 0 when the broker
// refused it.
func (a *Announcer) announce(ctx context.Context, e domain.SessionEvent) int64 {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), announceTimeout)
	defer cancel()
	published, err := a.events.Publish(ctx, e)
	if err != nil {
		a.log.Warn("event not announced", "type", e.Type, "session_id", e.SessionID, "error", err)
		return 0
	}
	return published.Seq
}

// PublishFinal announces an event that ends something (a reply's end, a
// delete), retrying while the broker comes back, within saveTimeout. It
// returns the seq the event got, 0 when it was lost.
func (a *Announcer) PublishFinal(ctx context.Context, e domain.SessionEvent) int64 {
	deadline := time.Now().Add(saveTimeout)
	for attempt := 1; ; attempt++ {
		if seq := a.announce(ctx, e); seq > 0 {
			return seq
		}
		if time.Now().After(deadline) {
			a.log.Error("final event lost; clients see the stored state on their next read",
				"type", e.Type, "session_id", e.SessionID)
			return 0
		}
		time.Sleep(time.Duration(100*attempt) * time.Millisecond)
	}
}

// Signal announces a best-effort event (typing, presence, a removal).
func (a *Announcer) Signal(ctx context.Context, e domain.SessionEvent) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), announceTimeout)
	defer cancel()
	if err := a.events.Signal(ctx, e); err != nil {
		a.log.Warn("signal not delivered", "type", e.Type, "session_id", e.SessionID, "error", err)
	}
}

// Close ends the session's subscriptions everywhere (it was deleted).
func (a *Announcer) Close(ctx context.Context, sessionID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), announceTimeout)
	defer cancel()
	if err := a.events.Close(ctx, sessionID); err != nil {
		a.log.Warn("subscriptions of a deleted session not ended", "session_id", sessionID, "error", err)
	}
}
