package app

import (
	"context"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// DeleteSession removes a session and everything in it; owner only.
type DeleteSession struct {
	access   *Access
	sessions ports.SessionRepository
	events   *Announcer
	gen      *Generator
}

// NewDeleteSession builds the use case.
func NewDeleteSession(access *Access, sessions ports.SessionRepository, events *Announcer, gen *Generator) *DeleteSession {
	return &DeleteSession{access: access, sessions: sessions, events: events, gen: gen}
}

// Handle deletes the session after checking that the caller owns it.
func (h *DeleteSession) Handle(ctx context.Context, caller Caller, sessionID string) error {
	s, p, err := h.access.Session(ctx, caller, sessionID)
	if err != nil {
		return err
	}
	if err := p.MayManage(); err != nil {
		return err
	}
	if err := h.sessions.Delete(ctx, sessionID); err != nil {
		return err
	}
	h.access.Revoke(sessionID)
	h.gen.cancelSession(sessionID)
	// Subscribers get session.deleted, then their subscriptions end.
	h.events.Publish(ctx, domain.SessionChanged(domain.EventSessionDeleted, s))
	h.events.Close(ctx, sessionID)
	return nil
}
