package app

import (
	"context"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// UpdateSession changes a session; owner only.
type UpdateSession struct {
	access   *Access
	sessions ports.SessionRepository
	events   ports.SessionEvents
	clock    ports.Clock
}

// NewUpdateSession builds the use case.
func NewUpdateSession(access *Access, sessions ports.SessionRepository, events ports.SessionEvents, clock ports.Clock) *UpdateSession {
	return &UpdateSession{access: access, sessions: sessions, events: events, clock: clock}
}

// Handle applies the patch after checking that the caller owns the session.
func (h *UpdateSession) Handle(ctx context.Context, caller Caller, sessionID string, patch domain.SessionPatch) (*domain.ChatSession, error) {
	_, p, err := h.access.Session(ctx, caller, sessionID)
	if err != nil {
		return nil, err
	}
	if err := p.MayManage(); err != nil {
		return nil, err
	}
	s, err := h.sessions.Update(ctx, sessionID, func(s *domain.ChatSession) error {
		return s.Apply(patch, h.clock.Now())
	})
	if err != nil {
		return nil, err
	}
	h.events.Publish(domain.SessionChanged(domain.EventSessionUpdated, s))
	return s, nil
}
