package app

import (
	"context"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// ParticipantView is a membership with the user it names.
type ParticipantView struct {
	domain.Participant
	User *domain.User
}

// Participants lists, adds and removes the members of a session.
type Participants struct {
	access   *Access
	sessions ports.SessionRepository
	users    ports.UserRepository
	events   *Announcer
	clock    ports.Clock
}

// NewParticipants builds the use cases.
func NewParticipants(access *Access, sessions ports.SessionRepository, users ports.UserRepository,
	events *Announcer, clock ports.Clock,
) *Participants {
	return &Participants{access: access, sessions: sessions, users: users, events: events, clock: clock}
}

// List shows every participant to any participant.
func (h *Participants) List(ctx context.Context, caller Caller, sessionID string) ([]ParticipantView, error) {
	if _, _, err := h.access.Session(ctx, caller, sessionID); err != nil {
		return nil, err
	}
	members, err := h.sessions.Participants(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	views := make([]ParticipantView, 0, len(members))
	for _, m := range members {
		u, err := h.users.GetByID(ctx, m.UserID)
		if err != nil {
			return nil, err
		}
		views = append(views, ParticipantView{Participant: m, User: u})
	}
	return views, nil
}

// AddParticipantCmd names the user by id or by email, and the role to grant.
type AddParticipantCmd struct {
	UserID string
	Email  string
	Role   domain.ParticipantRole
}

// Add lets the owner invite a user as member or viewer.
func (h *Participants) Add(ctx context.Context, caller Caller, sessionID string, cmd AddParticipantCmd) (ParticipantView, error) {
	_, self, err := h.access.Session(ctx, caller, sessionID)
	if err != nil {
		return ParticipantView{}, err
	}
	if err := self.MayManage(); err != nil {
		return ParticipantView{}, err
	}
	if _, err := domain.ParseParticipantRole(string(cmd.Role)); err != nil {
		return ParticipantView{}, err
	}
	u, err := h.findUser(ctx, cmd)
	if err != nil {
		return ParticipantView{}, err
	}
	p := domain.Participant{SessionID: sessionID, UserID: u.ID(), Role: cmd.Role, CreatedAt: h.clock.Now().UTC()}
	if err := h.sessions.AddParticipant(ctx, p); err != nil {
		return ParticipantView{}, err
	}
	return ParticipantView{Participant: p, User: u}, nil
}

func (h *Participants) findUser(ctx context.Context, cmd AddParticipantCmd) (*domain.User, error) {
	switch {
	case cmd.UserID != "" && cmd.Email != "":
		return nil, domain.Invalid("user-id-or-email", "give either user_id or email, not both",
			domain.FieldError{Field: "user_id", Message: "give either user_id or email, not both"})
	case cmd.UserID != "":
		return h.users.GetByID(ctx, cmd.UserID)
	case cmd.Email != "":
		email, err := domain.NormalizeEmail(cmd.Email)
		if err != nil {
			return nil, err
		}
		return h.users.GetByEmail(ctx, email)
	}
	return nil, domain.Invalid("user-id-or-email", "give user_id or email",
		domain.FieldError{Field: "user_id", Message: "user_id or email is required"})
}

// Remove lets the owner remove anyone but themself, and anyone leave.
func (h *Participants) Remove(ctx context.Context, caller Caller, sessionID, userID string) error {
	s, self, err := h.access.Session(ctx, caller, sessionID)
	if err != nil {
		return err
	}
	if userID != caller.UserID {
		if err := self.MayManage(); err != nil {
			return err
		}
	}
	if userID == s.OwnerID() {
		return domain.Invalid("owner-cannot-leave", "the owner cannot be removed; delete the session instead")
	}
	if _, err := h.sessions.Participant(ctx, sessionID, userID); err != nil {
		return err
	}
	if err := h.sessions.RemoveParticipant(ctx, sessionID, userID); err != nil {
		return err
	}
	h.access.Revoke(sessionID)
	// Their open sockets close: access ends with membership.
	h.events.Signal(ctx, domain.SessionEvent{Type: domain.EventParticipantRemoved, SessionID: sessionID,
		Removed: &domain.RemovedParticipant{UserID: userID}})
	return nil
}
