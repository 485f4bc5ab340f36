package app

import (
	"context"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// CreateSessionCmd opens a session.
type CreateSessionCmd struct {
	Title    string
	Provider domain.Provider
	Model    string
	Settings domain.Settings
}

// CreateSession opens a session owned by the caller.
type CreateSession struct {
	sessions ports.SessionRepository
	ids      ports.IDs
	clock    ports.Clock
}

// NewCreateSession builds the use case.
func NewCreateSession(sessions ports.SessionRepository, ids ports.IDs, clock ports.Clock) *CreateSession {
	return &CreateSession{sessions: sessions, ids: ids, clock: clock}
}

// Handle creates the session with the caller as owner.
func (h *CreateSession) Handle(ctx context.Context, caller Caller, cmd CreateSessionCmd) (*domain.ChatSession, error) {
	s, err := domain.NewChatSession(domain.NewSessionParams{
		ID: h.ids.NewID(), OwnerID: caller.UserID, Title: cmd.Title, Provider: cmd.Provider,
		Model: cmd.Model, Settings: cmd.Settings, Now: h.clock.Now(),
	})
	if err != nil {
		return nil, err
	}
	if err := h.sessions.Create(ctx, s); err != nil {
		return nil, err
	}
	return s, nil
}
