package app

import (
	"context"
	"sync"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// ListedMessage is a message in a list with the ids under the same parent
// (itself included, oldest first), for "2 / 3" arrows.
type ListedMessage struct {
	Message    *domain.ChatMessage
	SiblingIDs []string
}

// MessagePage is one page of a session's messages and the total count. A
// cached page is shared by every reader while it is fresh, so what an edge
// makes of it (its JSON) is made once: see Rendered.
type MessagePage struct {
	Messages []ListedMessage
	Total    int

	renderOnce sync.Once
	rendered   []byte
	renderErr  error
}

// Rendered returns render's answer for this page, calling render only for
// the page's first reader. Every reader must pass the same rendering.
func (p *MessagePage) Rendered(render func(*MessagePage) ([]byte, error)) ([]byte, error) {
	p.renderOnce.Do(func() { p.rendered, p.renderErr = render(p) })
	return p.rendered, p.renderErr
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
func (h *ListMessages) Handle(ctx context.Context, caller Caller, sessionID string, q ports.MessageQuery) (*MessagePage, error) {
	if _, _, err := h.access.Session(ctx, caller, sessionID); err != nil {
		return nil, err
	}
	key := pageKey{sessionID: sessionID, query: q}
	now := h.clock.Now()
	// Read before storage: the page then holds every change up to seq.
	seq, seqErr := h.events.LastSeq(ctx, sessionID)
	if seqErr == nil {
		if p, ok := h.pages.get(key, seq, now); ok {
			return p, nil
		}
	}
	page, err := h.read(ctx, sessionID, q)
	if err == nil && seqErr == nil {
		h.pages.put(key, seq, now, page)
	}
	return page, err
}

// read takes one page and its messages' siblings from storage.
func (h *ListMessages) read(ctx context.Context, sessionID string, q ports.MessageQuery) (*MessagePage, error) {
	msgs, total, err := h.messages.List(ctx, sessionID, q)
	if err != nil {
		return nil, err
	}
	siblings, err := h.messages.SiblingIDs(ctx, sessionID, msgs)
	if err != nil {
		return nil, err
	}
	page := &MessagePage{Messages: make([]ListedMessage, 0, len(msgs)), Total: total}
	for _, m := range msgs {
		page.Messages = append(page.Messages, ListedMessage{Message: m, SiblingIDs: siblings[m.ID()]})
	}
	return page, nil
}
