package app

import (
	"context"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// ListedMessage is a message in a list with the ids under the same parent
// (itself included, oldest first), for "2 / 3" arrows.
type ListedMessage struct {
	Message    *domain.ChatMessage
	SiblingIDs []string
}

// ListMessages pages through a session's messages for any participant.
// Pages are kept while their session has no newer event (see pageCache):
// a chat's history is read far more often than it changes.
type ListMessages struct {
	access   *Access
	messages ports.MessageRepository
	events   ports.SessionSubscriber
	clock    ports.Clock
	pages    *pageCache
}

// NewListMessages builds the use case.
func NewListMessages(access *Access, messages ports.MessageRepository, events ports.SessionSubscriber, clock ports.Clock) *ListMessages {
	return &ListMessages{access: access, messages: messages, events: events, clock: clock, pages: newPageCache()}
}

// Handle returns one page, each message with its siblings, and the total count.
func (h *ListMessages) Handle(ctx context.Context, caller Caller, sessionID string, q ports.MessageQuery) ([]ListedMessage, int, error) {
	if _, _, err := h.access.Session(ctx, caller, sessionID); err != nil {
		return nil, 0, err
	}
	key := pageKey{sessionID: sessionID, query: q}
	now := h.clock.Now()
	// Read before storage: the page then holds every change up to seq.
	seq, seqErr := h.events.LastSeq(ctx, sessionID)
	if seqErr == nil {
		if p, ok := h.pages.get(key, seq, now); ok {
			return p.msgs, p.total, nil
		}
	}
	out, total, err := h.read(ctx, sessionID, q)
	if err == nil && seqErr == nil {
		h.pages.put(key, cachedPage{seq: seq, readAt: now, msgs: out, total: total})
	}
	return out, total, err
}

// read takes one page and its messages' siblings from storage.
func (h *ListMessages) read(ctx context.Context, sessionID string, q ports.MessageQuery) ([]ListedMessage, int, error) {
	msgs, total, err := h.messages.List(ctx, sessionID, q)
	if err != nil {
		return nil, 0, err
	}
	siblings, err := h.messages.SiblingIDs(ctx, sessionID, msgs)
	if err != nil {
		return nil, 0, err
	}
	out := make([]ListedMessage, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, ListedMessage{Message: m, SiblingIDs: siblings[m.ID()]})
	}
	return out, total, nil
}
