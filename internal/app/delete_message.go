package app

import (
	"context"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// DeleteMessage removes a message and everything under it. A reply
// generating there is stopped without storing its end.
type DeleteMessage struct {
	access   *Access
	messages ports.MessageRepository
	events   *Announcer
	gen      *Generator
	clock    ports.Clock
}

// NewDeleteMessage builds the use case.
func NewDeleteMessage(access *Access, messages ports.MessageRepository, events *Announcer, gen *Generator,
	clock ports.Clock,
) *DeleteMessage {
	return &DeleteMessage{access: access, messages: messages, events: events, gen: gen, clock: clock}
}

// Handle deletes the subtree, then tells subscribers what went and where
// the session's current branch is now.
func (h *DeleteMessage) Handle(ctx context.Context, caller Caller, messageID string) error {
	m, p, err := h.access.Message(ctx, h.messages, caller, messageID)
	if err != nil {
		return err
	}
	if err := p.MayDelete(m); err != nil {
		return err
	}
	gone, err := h.messages.DeleteSubtree(ctx, messageID, h.clock.Now())
	if err != nil {
		return err
	}
	h.gen.dropDeleted(m.SessionID(), domain.DeletedMessages{MessageID: messageID, DeletedIDs: gone.IDs})
	h.events.Publish(ctx, domain.SessionChanged(domain.EventSessionUpdated, gone.Session))
	return nil
}
