package app

import (
	"context"

	"github.com/chatd/chatd/internal/ports"
)

// DeleteSession removes a session and everything in it; owner only.
type DeleteSession struct {
	access   *Access
	sessions ports.SessionRepository
}

// NewDeleteSession builds the use case.
func NewDeleteSession(access *Access, sessions ports.SessionRepository) *DeleteSession {
	return &DeleteSession{access: access, sessions: sessions}
}

// Handle deletes the session after checking that the caller owns it.
func (h *DeleteSession) Handle(ctx context.Context, caller Caller, sessionID string) error {
	_, p, err := h.access.Session(ctx, caller, sessionID)
	if err != nil {
		return err
	}
	if err := p.MayManage(); err != nil {
		return err
	}
	return h.sessions.Delete(ctx, sessionID)
}
