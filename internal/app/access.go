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
	seqs     ports.SessionSubscriber
	clock    ports.Clock
	members  *membershipCache // nil: every check reads storage
}

// NewAccess builds the access function. A sole process keeps the
// memberships it has read (see membershipCache); among several, a removal
// made elsewhere could not reach its cache, so every check reads storage.
func NewAccess(sessions ports.SessionRepository, seqs ports.SessionSubscriber, clock ports.Clock, cfg GenerationConfig) *Access {
	a := &Access{sessions: sessions, seqs: seqs, clock: clock}
	if cfg.SoleProcess {
		a.members = newMembershipCache()
	}
	return a
}

// Session returns the session and the caller's membership, or NotFound.
func (a *Access) Session(ctx context.Context, caller Caller, sessionID string) (*domain.ChatSession, domain.Participant, error) {
	var seen membershipRead
	if a.members != nil {
		// The seq before storage: the row read then holds every change up to it.
		if seq, err := a.seqs.LastSeq(ctx, sessionID); err == nil {
			key := membershipKey{sessionID: sessionID, userID: caller.UserID}
			if s, p, ok := a.members.get(key, seq, a.clock.Now()); ok {
				return s, p, nil
			}
			seen = a.members.beforeRead(key, seq, a.clock.Now())
		}
	}
	s, p, err := a.sessions.Membership(ctx, sessionID, caller.UserID)
	if domain.IsKind(err, domain.ErrNotFound) {
		return nil, domain.Participant{}, domain.NotFound("session")
	}
	if err != nil {
		return nil, domain.Participant{}, err
	}
	if seen.valid {
		a.members.put(seen, s, p)
	}
	return s, p, nil
}

// Revoke forgets what the cache holds of the session's memberships: a
// participant was removed or the session deleted, and access ends with
// membership at once.
func (a *Access) Revoke(sessionID string) {
	if a.members != nil {
		a.members.revoke(sessionID)
	}
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
