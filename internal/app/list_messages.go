package app

import (
	"context"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// ListMessages pages through a session's messages for any participant.
type ListMessages struct {
	access   *Access
	messages ports.MessageRepository
}

// NewListMessages builds the use case.
func NewListMessages(access *Access, messages ports.MessageRepository) *ListMessages {
	return &ListMessages{access: access, messages: messages}
}

// Handle returns one page and the total count.
func (h *ListMessages) Handle(ctx context.Context, caller Caller, sessionID string, order ports.Order, page ports.Page) ([]*domain.ChatMessage, int, error) {
	if _, _, err := h.access.Session(ctx, caller, sessionID); err != nil {
		return nil, 0, err
	}
	return h.messages.List(ctx, sessionID, order, page)
}
