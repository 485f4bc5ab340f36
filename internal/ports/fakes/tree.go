package fakes

import (
	"context"
	"slices"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// The tree's walks over the in-memory messages, with the real adapter's
// answers (adapters/storage/tree.go).

// pathLocked is the path from a first message down to id, at most limit of
// its end when limit > 0.
func (s *Store) pathLocked(id string, limit int) []domain.MessageSnapshot {
	var path []domain.MessageSnapshot
	for next := &id; next != nil && (limit <= 0 || len(path) < limit); {
		m, ok := s.messages[*next]
		if !ok {
			break
		}
		path = append(path, m)
		next = m.ParentID
	}
	slices.Reverse(path)
	return path
}

// childrenLocked lists the messages under parent (nil: the session's first
// messages), oldest first.
func (s *Store) childrenLocked(sessionID string, parent *string) []domain.MessageSnapshot {
	var out []domain.MessageSnapshot
	for _, m := range s.sortedMessagesLocked(sessionID) {
		if parentKey(m.ParentID) == parentKey(parent) {
			out = append(out, m)
		}
	}
	return out
}

// newestLeafLocked follows the newest child from under down to a leaf;
// under nil starts from the newest first message. nil when there is none.
func (s *Store) newestLeafLocked(sessionID string, under *string) *string {
	cur := clonePtr(under)
	if cur == nil {
		roots := s.childrenLocked(sessionID, nil)
		if len(roots) == 0 {
			return nil
		}
		cur = &roots[len(roots)-1].ID
	}
	for {
		kids := s.childrenLocked(sessionID, cur)
		if len(kids) == 0 {
			return cur
		}
		cur = &kids[len(kids)-1].ID
	}
}

func parentKey(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Ancestors returns the path down to messageID, oldest first.
func (r *MessageRepo) Ancestors(ctx context.Context, messageID string, limit int) ([]*domain.ChatMessage, error) {
	if err := r.s.enter(ctx, "messages.Ancestors"); err != nil {
		return nil, err
	}
	defer r.s.mu.Unlock()
	out := []*domain.ChatMessage{}
	for _, m := range r.s.pathLocked(messageID, limit) {
		out = append(out, messageOut(m))
	}
	return out, nil
}

// SiblingIDs answers the ids under each message's parent, oldest first.
func (r *MessageRepo) SiblingIDs(ctx context.Context, sessionID string, of []*domain.ChatMessage) (map[string][]string, error) {
	if err := r.s.enter(ctx, "messages.SiblingIDs"); err != nil {
		return nil, err
	}
	defer r.s.mu.Unlock()
	out := make(map[string][]string, len(of))
	for _, m := range of {
		var ids []string
		for _, sib := range r.s.childrenLocked(sessionID, m.ParentID()) {
			ids = append(ids, sib.ID)
		}
		out[m.ID()] = ids
	}
	return out, nil
}

// SwitchBranch moves the current message to the newest leaf under messageID.
func (r *MessageRepo) SwitchBranch(ctx context.Context, sessionID, messageID string, now time.Time) (*domain.ChatSession, error) {
	if err := r.s.enter(ctx, "messages.SwitchBranch"); err != nil {
		return nil, err
	}
	defer r.s.mu.Unlock()
	session, ok := r.s.sessions[sessionID]
	if !ok {
		return nil, domain.NotFound("session")
	}
	if m, ok := r.s.messages[messageID]; !ok || m.SessionID != sessionID {
		return nil, domain.ForeignParent("current_message_id")
	}
	session.CurrentMessageID = r.s.newestLeafLocked(sessionID, &messageID)
	if session.UpdatedAt.Before(now) {
		session.UpdatedAt = now
	}
	r.s.sessions[sessionID] = storedSession(session)
	return sessionOut(session), nil
}

// DeleteSubtree removes the message and everything under it.
func (r *MessageRepo) DeleteSubtree(ctx context.Context, messageID string, now time.Time) (ports.DeletedSubtree, error) {
	if err := r.s.enter(ctx, "messages.DeleteSubtree"); err != nil {
		return ports.DeletedSubtree{}, err
	}
	defer r.s.mu.Unlock()
	target, ok := r.s.messages[messageID]
	if !ok {
		return ports.DeletedSubtree{}, domain.NotFound("message")
	}
	ids := []string{messageID}
	for i := 0; i < len(ids); i++ {
		for _, kid := range r.s.childrenLocked(target.SessionID, &ids[i]) {
			ids = append(ids, kid.ID)
		}
	}
	for _, id := range ids {
		delete(r.s.messages, id)
		for k, rec := range r.s.idempotency {
			if rec.UserMessageID == id {
				delete(r.s.idempotency, k)
			} else if rec.AssistantMessageID != nil && *rec.AssistantMessageID == id {
				rec.AssistantMessageID = nil
				r.s.idempotency[k] = rec
			}
		}
	}
	session := r.s.sessions[target.SessionID]
	session.MessageCount = max(0, session.MessageCount-len(ids))
	if session.CurrentMessageID != nil && slices.Contains(ids, *session.CurrentMessageID) {
		session.CurrentMessageID = r.s.newestLeafLocked(target.SessionID, target.ParentID)
	}
	session.UpdatedAt = now
	r.s.sessions[target.SessionID] = storedSession(session)
	return ports.DeletedSubtree{IDs: ids, Session: sessionOut(session)}, nil
}
