package app

import (
	"context"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// UpdateSessionCmd changes a session's fields (owner only) and/or switches
// the branch on screen (owners and members).
type UpdateSessionCmd struct {
	Patch            domain.SessionPatch
	CurrentMessageID *string
}

// UpdateSession changes a session.
type UpdateSession struct {
	access   *Access
	sessions ports.SessionRepository
	messages ports.MessageRepository
	events   *Announcer
	clock    ports.Clock
}

// NewUpdateSession builds the use case.
func NewUpdateSession(access *Access, sessions ports.SessionRepository, messages ports.MessageRepository,
	events *Announcer, clock ports.Clock,
) *UpdateSession {
	return &UpdateSession{access: access, sessions: sessions, messages: messages, events: events, clock: clock}
}

// Handle checks every permission and field first, then switches the branch
// and applies the patch, and announces the result once.
func (h *UpdateSession) Handle(ctx context.Context, caller Caller, sessionID string, cmd UpdateSessionCmd) (*domain.ChatSession, error) {
	s, p, err := h.access.Session(ctx, caller, sessionID)
	if err != nil {
		return nil, err
	}
	changesFields := !cmd.Patch.IsEmpty() || cmd.CurrentMessageID == nil
	if changesFields {
		if err := p.MayManage(); err != nil {
			return nil, err
		}
		// Validate on the copy read for the check, so a bad field changes nothing.
		if err := s.Apply(cmd.Patch, h.clock.Now()); err != nil {
			return nil, err
		}
	}
	if cmd.CurrentMessageID != nil {
		if err := p.MaySwitchBranch(); err != nil {
			return nil, err
		}
		if s, err = h.messages.SwitchBranch(ctx, sessionID, *cmd.CurrentMessageID, h.clock.Now()); err != nil {
			return nil, err
		}
	}
	if changesFields {
		s, err = h.sessions.Update(ctx, sessionID, func(s *domain.ChatSession) error {
			return s.Apply(cmd.Patch, h.clock.Now())
		})
		if err != nil {
			return nil, err
		}
	}
	h.events.Publish(ctx, domain.SessionChanged(domain.EventSessionUpdated, s))
	return s, nil
}
