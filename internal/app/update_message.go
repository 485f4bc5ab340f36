package app

import (
	"context"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// UpdateMessage lets an author edit their own user message.
type UpdateMessage struct {
	access   *Access
	messages ports.MessageRepository
	events   *Announcer
	clock    ports.Clock
	limits   Limits
}

// NewUpdateMessage builds the use case.
func NewUpdateMessage(access *Access, messages ports.MessageRepository, events *Announcer, clock ports.Clock,
	limits Limits,
) *UpdateMessage {
	return &UpdateMessage{access: access, messages: messages, events: events, clock: clock, limits: limits}
}

// Handle applies the edit.
func (h *UpdateMessage) Handle(ctx context.Context, caller Caller, messageID string, edit domain.MessageEdit) (*domain.ChatMessage, error) {
	_, p, err := h.access.Message(ctx, h.messages, caller, messageID)
	if err != nil {
		return nil, err
	}
	if err := p.MayPost(); err != nil {
		return nil, err
	}
	m, err := h.messages.Update(ctx, messageID, func(m *domain.ChatMessage) error {
		return m.Edit(caller.UserID, edit, h.limits.MaxMessageChars, h.clock.Now())
	})
	if err != nil {
		return nil, err
	}
	h.events.Publish(ctx, domain.MessageEvent(domain.EventMessageUpdated, m))
	return m, nil
}
