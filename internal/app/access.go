package app

import (
	"context"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// Access is the one place that decides whether a caller may see a session.
// A caller who is not a participant gets the same NotFound as a missing
// session, so nobody learns that another user's session exists.
type Access struct {
	sessions ports.SessionRepository
}

// NewAccess builds the access function.
func NewAccess(sessions ports.SessionRepository) *Access {
	return &Access{sessions: sessions}
}

// Session returns the session and the caller's membership, or NotFound.
func (a *Access) Session(ctx context.Context, caller Caller, sessionID string) (*domain.ChatSession, domain.Participant, error) {
	s, p, err := a.sessions.Membership(ctx, sessionID, caller.UserID)
	if domain.IsKind(err, domain.ErrNotFound) {
		return nil, domain.Participant{}, domain.NotFound("session")
	}
	if err != nil {
		return nil, domain.Participant{}, err
	}
	return s, p, nil
}

// Message returns a message the caller may see, with the caller's membership
// of its session, or NotFound.
func (a *Access) Message(ctx context.Context, messages ports.MessageRepository, caller Caller, messageID string) (*domain.ChatMessage, domain.Participant, error) {
	m, err := messages.Get(ctx, messageID)
	if err != nil {
		return nil, domain.Participant{}, err
	}
	p, err := a.sessions.Participant(ctx, m.SessionID(), caller.UserID)
	if domain.IsKind(err, domain.ErrNotFound) {
		return nil, domain.Participant{}, domain.NotFound("message")
	}
	if err != nil {
		return nil, domain.Participant{}, err
	}
	return m, p, nil
}
