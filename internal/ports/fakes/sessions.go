package fakes

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

var _ ports.SessionRepository = (*SessionRepo)(nil)

// SessionRepo is the store's sessions and participants tables.
type SessionRepo struct{ s *Store }

// Create stores the session with its owner as first participant. A missing
// owner is NotFound("user").
func (r *SessionRepo) Create(ctx context.Context, cs *domain.ChatSession) error {
	if err := r.s.enter(ctx, "sessions.Create"); err != nil {
		return err
	}
	defer r.s.mu.Unlock()
	snap := storedSession(cs.Snapshot())
	if _, ok := r.s.sessions[snap.ID]; ok {
		return fmt.Errorf("create session: duplicate key value violates unique constraint (id %s)", snap.ID)
	}
	if _, ok := r.s.users[snap.OwnerID]; !ok {
		return domain.NotFound("user")
	}
	if err := checkStoredText(snap.Title + snap.Model); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	r.s.sessions[snap.ID] = snap
	r.s.participants[snap.ID] = map[string]domain.Participant{
		snap.OwnerID: {SessionID: snap.ID, UserID: snap.OwnerID, Role: domain.ParticipantOwner, CreatedAt: snap.CreatedAt},
	}
	return nil
}

// Get returns the session or NotFound("session").
func (r *SessionRepo) Get(ctx context.Context, id string) (*domain.ChatSession, error) {
	if err := r.s.enter(ctx, "sessions.Get"); err != nil {
		return nil, err
	}
	defer r.s.mu.Unlock()
	snap, ok := r.s.sessions[id]
	if !ok || !isCanonicalID(id) {
		return nil, domain.NotFound("session")
	}
	return sessionOut(snap), nil
}

// Update loads the session, lets fn change it and stores the fields a
// session edit may change, all under the store's lock: nothing else reads or
// writes in between. As with the real adapter, fn must not call the
// repositories (here it would deadlock). The count and last activity belong
// to CreateTurn and are kept.
func (r *SessionRepo) Update(ctx context.Context, id string, fn func(*domain.ChatSession) error) (*domain.ChatSession, error) {
	if err := r.s.enter(ctx, "sessions.Update"); err != nil {
		return nil, err
	}
	defer r.s.mu.Unlock()
	old, ok := r.s.sessions[id]
	if !ok || !isCanonicalID(id) {
		return nil, domain.NotFound("session")
	}
	cs := sessionOut(old)
	if err := fn(cs); err != nil {
		return nil, err
	}
	next := cs.Snapshot()
	if err := checkStoredText(next.Title + next.Model); err != nil {
		return nil, fmt.Errorf("update session: %w", err)
	}
	stored := old
	stored.Title, stored.Provider, stored.Model = next.Title, next.Provider, next.Model
	stored.Settings, stored.IsActive, stored.UpdatedAt = next.Settings, next.IsActive, next.UpdatedAt
	stored = storedSession(stored)
	r.s.sessions[id] = stored
	return sessionOut(stored), nil
}

// Delete removes the session with its participants, messages and the
// idempotency records pointing at them.
func (r *SessionRepo) Delete(ctx context.Context, id string) error {
	if err := r.s.enter(ctx, "sessions.Delete"); err != nil {
		return err
	}
	defer r.s.mu.Unlock()
	if _, ok := r.s.sessions[id]; !ok {
		return domain.NotFound("session")
	}
	delete(r.s.sessions, id)
	delete(r.s.participants, id)
	gone := map[string]bool{}
	for mid, m := range r.s.messages {
		if m.SessionID == id {
			gone[mid] = true
			delete(r.s.messages, mid)
		}
	}
	r.s.forgetMessagesLocked(gone)
	return nil
}

// forgetMessagesLocked applies the foreign keys on deleted messages:
// parent ids and assistant ids become NULL, records of a deleted user
// message go.
func (s *Store) forgetMessagesLocked(gone map[string]bool) {
	for mid, m := range s.messages {
		if m.ParentID != nil && gone[*m.ParentID] {
			m.ParentID = nil
			s.messages[mid] = m
		}
	}
	for k, rec := range s.idempotency {
		switch {
		case gone[rec.UserMessageID]:
			delete(s.idempotency, k)
		case rec.AssistantMessageID != nil && gone[*rec.AssistantMessageID]:
			rec.AssistantMessageID = nil
			s.idempotency[k] = rec
		}
	}
}

// ListForUser lists the sessions the user takes part in, newest activity
// (last message, else creation) first, id breaking ties, and their count.
func (r *SessionRepo) ListForUser(ctx context.Context, userID string, f ports.SessionFilter, p ports.Page) ([]*domain.ChatSession, int, error) {
	if err := r.s.enter(ctx, "sessions.ListForUser"); err != nil {
		return nil, 0, err
	}
	defer r.s.mu.Unlock()
	var all []domain.SessionSnapshot
	for id, members := range r.s.participants {
		if _, ok := members[userID]; !ok {
			continue
		}
		snap := r.s.sessions[id]
		if f.IsActive != nil && snap.IsActive != *f.IsActive {
			continue
		}
		if f.Provider != nil && snap.Provider != *f.Provider {
			continue
		}
		all = append(all, snap)
	}
	activity := func(s domain.SessionSnapshot) int64 {
		if s.LastMessageAt != nil {
			return s.LastMessageAt.UnixNano()
		}
		return s.CreatedAt.UnixNano()
	}
	slices.SortFunc(all, func(a, b domain.SessionSnapshot) int {
		if x, y := activity(a), activity(b); x != y {
			if x > y {
				return -1
			}
			return 1
		}
		return -strings.Compare(a.ID, b.ID)
	})
	out := []*domain.ChatSession{}
	for _, snap := range pageOf(all, p.Number, p.Size) {
		out = append(out, sessionOut(snap))
	}
	return out, len(all), nil
}

// Participant returns the user's membership or NotFound("participant").
func (r *SessionRepo) Participant(ctx context.Context, sessionID, userID string) (domain.Participant, error) {
	if err := r.s.enter(ctx, "sessions.Participant"); err != nil {
		return domain.Participant{}, err
	}
	defer r.s.mu.Unlock()
	p, ok := r.s.participants[sessionID][userID]
	if !ok || !isCanonicalID(sessionID) || !isCanonicalID(userID) {
		return domain.Participant{}, domain.NotFound("participant")
	}
	return p, nil
}

// Membership returns the session and the user's membership, read together.
func (r *SessionRepo) Membership(ctx context.Context, sessionID, userID string) (*domain.ChatSession, domain.Participant, error) {
	if err := r.s.enter(ctx, "sessions.Membership"); err != nil {
		return nil, domain.Participant{}, err
	}
	defer r.s.mu.Unlock()
	p, ok := r.s.participants[sessionID][userID]
	snap, found := r.s.sessions[sessionID]
	if !ok || !found || !isCanonicalID(sessionID) || !isCanonicalID(userID) {
		return nil, domain.Participant{}, domain.NotFound("participant")
	}
	return sessionOut(snap), p, nil
}

// Participants lists the session's members in the order they joined.
func (r *SessionRepo) Participants(ctx context.Context, sessionID string) ([]domain.Participant, error) {
	if err := r.s.enter(ctx, "sessions.Participants"); err != nil {
		return nil, err
	}
	defer r.s.mu.Unlock()
	out := []domain.Participant{}
	for _, p := range r.s.participants[sessionID] {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b domain.Participant) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.UserID, b.UserID)
	})
	return out, nil
}

// AddParticipant stores p: a user already in the session is a Conflict
// "already-participant", a missing user or session is NotFound.
func (r *SessionRepo) AddParticipant(ctx context.Context, p domain.Participant) error {
	if err := r.s.enter(ctx, "sessions.AddParticipant"); err != nil {
		return err
	}
	defer r.s.mu.Unlock()
	if !isCanonicalID(p.SessionID) {
		return domain.NotFound("session")
	}
	if !isCanonicalID(p.UserID) {
		return domain.NotFound("user")
	}
	if _, ok := r.s.participants[p.SessionID][p.UserID]; ok {
		return domain.Conflict("already-participant", "this user already takes part in the session")
	}
	if _, ok := r.s.users[p.UserID]; !ok {
		return domain.NotFound("user")
	}
	if _, ok := r.s.sessions[p.SessionID]; !ok {
		return domain.NotFound("session")
	}
	switch p.Role {
	case domain.ParticipantOwner, domain.ParticipantMember, domain.ParticipantViewer:
	default:
		return fmt.Errorf("add participant: check constraint: role %q", p.Role)
	}
	p.CreatedAt = dbTime(p.CreatedAt)
	r.s.participants[p.SessionID][p.UserID] = p
	return nil
}

// RemoveParticipant deletes the membership or answers NotFound("participant").
func (r *SessionRepo) RemoveParticipant(ctx context.Context, sessionID, userID string) error {
	if err := r.s.enter(ctx, "sessions.RemoveParticipant"); err != nil {
		return err
	}
	defer r.s.mu.Unlock()
	if _, ok := r.s.participants[sessionID][userID]; !ok {
		return domain.NotFound("participant")
	}
	delete(r.s.participants[sessionID], userID)
	return nil
}
