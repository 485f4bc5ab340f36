package fakes

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

var _ ports.MessageRepository = (*MessageRepo)(nil)

// MessageRepo is the store's messages table.
type MessageRepo struct{ s *Store }

// CreateTurn stores the message, the reply and the idempotency record
// together, or nothing, and bumps the session's count and last activity by
// the messages really inserted: an id already stored is skipped, so a turn
// stored twice counts once. A reused key is a Conflict
// "idempotency-key-exists"; a missing session (or author) is
// NotFound("session"), as the real adapter reports any broken reference.
func (r *MessageRepo) CreateTurn(ctx context.Context, t ports.NewTurn) error {
	turn := make([]*domain.ChatMessage, 0, 2)
	for _, m := range []*domain.ChatMessage{t.Message, t.Reply} {
		if m != nil {
			turn = append(turn, m)
		}
	}
	if len(turn) == 0 {
		return errors.New("create turn: the turn has no message")
	}
	sessionID := turn[0].SessionID()
	if turn[len(turn)-1].SessionID() != sessionID {
		return errors.New("create turn: the reply belongs to another session")
	}
	if err := r.s.enter(ctx, "messages.CreateTurn"); err != nil {
		return err
	}
	defer r.s.mu.Unlock()
	session, ok := r.s.sessions[sessionID]
	if !ok || !isCanonicalID(sessionID) {
		return domain.NotFound("session")
	}
	parentID := t.Placement.Resolve(clonePtr(session.CurrentMessageID))
	if t.Placement.Explicit() && parentID != nil {
		if p, ok := r.s.messages[*parentID]; !ok || p.SessionID != sessionID {
			return domain.ForeignParent("parent_id")
		}
	}
	turn[0].AttachTo(parentID)
	if len(turn) == 2 {
		firstID := turn[0].ID()
		turn[1].AttachTo(&firstID)
	}
	var rows []domain.MessageSnapshot
	for _, m := range turn {
		row, err := storedMessage(m.Snapshot())
		if err != nil {
			return fmt.Errorf("create turn: %w", err)
		}
		rows = append(rows, row)
	}
	inTurn := map[string]bool{}
	var added []domain.MessageSnapshot
	for _, row := range rows {
		if _, exists := r.s.messages[row.ID]; exists || inTurn[row.ID] {
			continue
		}
		if _, ok := r.s.users[row.UserID]; !ok {
			return domain.NotFound("session")
		}
		if row.ParentID != nil && !inTurn[*row.ParentID] {
			if _, ok := r.s.messages[*row.ParentID]; !ok {
				return domain.NotFound("session")
			}
		}
		inTurn[row.ID] = true
		added = append(added, row)
	}
	var rec *domain.IdempotencyRecord
	if t.Idempotency != nil {
		k := idempotencyKey{t.Idempotency.UserID, t.Idempotency.Key}
		if _, used := r.s.idempotency[k]; used {
			return domain.Conflict("idempotency-key-exists", "this Idempotency-Key was already used")
		}
		v := *t.Idempotency
		v.AssistantMessageID = clonePtr(v.AssistantMessageID)
		v.CreatedAt = dbTime(v.CreatedAt)
		rec = &v
	}

	// Everything checked: commit.
	var last time.Time
	for _, row := range added {
		r.s.messages[row.ID] = row
		if t.Reply != nil && row.ID == t.Reply.ID() && t.Lease.Owner != "" {
			r.s.leases[row.ID] = ports.ReplyLease{Owner: t.Lease.Owner, Until: dbTime(t.Lease.Until)}
		}
		if row.CreatedAt.After(last) {
			last = row.CreatedAt
		}
	}
	if rec != nil {
		r.s.idempotency[idempotencyKey{rec.UserID, rec.Key}] = *rec
	}
	if len(added) > 0 {
		session.MessageCount += len(added)
		lastID := turn[len(turn)-1].ID()
		session.CurrentMessageID = &lastID
		if session.LastMessageAt == nil || session.LastMessageAt.Before(last) {
			session.LastMessageAt = &last
		}
		if session.UpdatedAt.Before(last) {
			session.UpdatedAt = last
		}
		r.s.sessions[sessionID] = storedSession(session)
	}
	return nil
}

// Get returns the message or NotFound("message").
func (r *MessageRepo) Get(ctx context.Context, id string) (*domain.ChatMessage, error) {
	if err := r.s.enter(ctx, "messages.Get"); err != nil {
		return nil, err
	}
	defer r.s.mu.Unlock()
	m, ok := r.s.messages[id]
	if !ok || !isCanonicalID(id) {
		return nil, domain.NotFound("message")
	}
	return messageOut(m), nil
}

// List pages through the session's current branch or all its messages by
// creation time, id breaking ties, and counts what it selects.
func (r *MessageRepo) List(ctx context.Context, sessionID string, q ports.MessageQuery) ([]*domain.ChatMessage, int, error) {
	if err := r.s.enter(ctx, "messages.List"); err != nil {
		return nil, 0, err
	}
	defer r.s.mu.Unlock()
	var all []domain.MessageSnapshot
	if q.Branch == domain.BranchCurrent {
		if session, ok := r.s.sessions[sessionID]; ok && session.CurrentMessageID != nil {
			all = r.s.pathLocked(*session.CurrentMessageID, 0)
		}
	} else {
		all = r.s.sortedMessagesLocked(sessionID)
	}
	if q.Order == ports.OrderDesc {
		slices.Reverse(all)
	}
	out := []*domain.ChatMessage{}
	for _, m := range pageOf(all, q.Page.Number, q.Page.Size) {
		out = append(out, messageOut(m))
	}
	return out, len(all), nil
}

// Update loads the message, lets fn change it and stores its mutable
// columns, all under the store's lock. fn must not call the repositories.
func (r *MessageRepo) Update(ctx context.Context, id string, fn func(*domain.ChatMessage) error) (*domain.ChatMessage, error) {
	if err := r.s.enter(ctx, "messages.Update"); err != nil {
		return nil, err
	}
	defer r.s.mu.Unlock()
	old, ok := r.s.messages[id]
	if !ok || !isCanonicalID(id) {
		return nil, domain.NotFound("message")
	}
	m := messageOut(old)
	if err := fn(m); err != nil {
		return nil, err
	}
	next, err := r.s.mutableLocked(old, m.Snapshot())
	if err != nil {
		return nil, fmt.Errorf("update message: %w", err)
	}
	return messageOut(next), nil
}

// Save stores the message's mutable columns; a message that is gone (its
// session was deleted mid-generation) is NotFound("message").
func (r *MessageRepo) Save(ctx context.Context, m *domain.ChatMessage) error {
	if err := r.s.enter(ctx, "messages.Save"); err != nil {
		return err
	}
	defer r.s.mu.Unlock()
	snap := m.Snapshot()
	old, ok := r.s.messages[snap.ID]
	if !ok || !isCanonicalID(snap.ID) {
		return domain.NotFound("message")
	}
	if _, err := r.s.mutableLocked(old, snap); err != nil {
		return fmt.Errorf("save message: %w", err)
	}
	return nil
}

// mutableLocked writes what a message may change after it is created over
// the stored row; identity, author, parent, role and creation stay.
func (s *Store) mutableLocked(old, next domain.MessageSnapshot) (domain.MessageSnapshot, error) {
	row := old
	row.Content, row.Provider, row.Model = next.Content, next.Provider, next.Model
	row.ResponseTimeMs, row.TokensUsed, row.ErrorMessage = next.ResponseTimeMs, next.TokensUsed, next.ErrorMessage
	row.Status, row.Metadata, row.UpdatedAt = next.Status, next.Metadata, next.UpdatedAt
	stored, err := storedMessage(row)
	if err != nil {
		return domain.MessageSnapshot{}, err
	}
	s.messages[stored.ID] = stored
	return stored, nil
}

// SaveReply stores the reply's mutable columns if owner holds its lease and
// it is still generating; a final state ends the lease.
func (r *MessageRepo) SaveReply(ctx context.Context, m *domain.ChatMessage, owner string, deltas int) error {
	if err := r.s.enter(ctx, "messages.SaveReply"); err != nil {
		return err
	}
	defer r.s.mu.Unlock()
	snap := m.Snapshot()
	old, ok := r.s.messages[snap.ID]
	if !ok || !isCanonicalID(snap.ID) {
		return domain.NotFound("message")
	}
	if lease, held := r.s.leases[snap.ID]; !held || lease.Owner != owner || old.Status.IsFinal() {
		return errNotOwned
	}
	if _, err := r.s.mutableLocked(old, snap); err != nil {
		return fmt.Errorf("save reply: %w", err)
	}
	r.s.deltas[snap.ID] = deltas
	if snap.Status.IsFinal() {
		delete(r.s.leases, snap.ID)
	}
	return nil
}

// Generating lists the session's unfinished replies, oldest first.
func (r *MessageRepo) Generating(ctx context.Context, sessionID string) ([]ports.GeneratingReply, error) {
	if err := r.s.enter(ctx, "messages.Generating"); err != nil {
		return nil, err
	}
	defer r.s.mu.Unlock()
	var rows []domain.MessageSnapshot
	for _, m := range r.s.messages {
		if m.SessionID == sessionID && !m.Status.IsFinal() {
			rows = append(rows, m)
		}
	}
	slices.SortFunc(rows, func(a, b domain.MessageSnapshot) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	out := make([]ports.GeneratingReply, 0, len(rows))
	for _, m := range rows {
		out = append(out, ports.GeneratingReply{Message: messageOut(m), Deltas: r.s.deltas[m.ID]})
	}
	return out, nil
}

var errNotOwned = domain.Conflict("reply-not-owned", "another process took this reply over")

// RenewLeases extends owner's leases on its generating replies.
func (r *MessageRepo) RenewLeases(ctx context.Context, owner string, until time.Time) error {
	if err := r.s.enter(ctx, "messages.RenewLeases"); err != nil {
		return err
	}
	defer r.s.mu.Unlock()
	for id, lease := range r.s.leases {
		if lease.Owner == owner && !r.s.messages[id].Status.IsFinal() {
			r.s.leases[id] = ports.ReplyLease{Owner: owner, Until: dbTime(until)}
		}
	}
	return nil
}

// RepairLapsed marks every pending or streaming message without a live
// lease interrupted, as the real adapter's one UPDATE does: status, the
// interrupted reason, the repaired-reply metadata and updated_at change,
// the text stays.
func (r *MessageRepo) RepairLapsed(ctx context.Context, lapsedBy, now time.Time, self string) ([]*domain.ChatMessage, error) {
	if err := r.s.enter(ctx, "messages.RepairLapsed"); err != nil {
		return nil, err
	}
	defer r.s.mu.Unlock()
	var repaired []*domain.ChatMessage
	for id, m := range r.s.messages {
		if m.Status.IsFinal() {
			continue
		}
		if lease, held := r.s.leases[id]; held && (!lease.Until.Before(lapsedBy) || (self != "" && lease.Owner == self)) {
			continue
		}
		reason := domain.InterruptedReason
		meta, err := jsonRoundTrip(domain.RepairedReplyMetadata())
		if err != nil {
			return nil, fmt.Errorf("repair lapsed replies: %w", err)
		}
		m.Status, m.ErrorMessage, m.Metadata, m.UpdatedAt = domain.StatusInterrupted, &reason, meta, dbTime(now)
		r.s.messages[id] = m
		delete(r.s.leases, id)
		repaired = append(repaired, messageOut(m))
	}
	return repaired, nil
}
