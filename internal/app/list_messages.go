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
type ListMessages struct {
	access   *Access
	messages ports.MessageRepository
}

// NewListMessages builds the use case.
func NewListMessages(access *Access, messages ports.MessageRepository) *ListMessages {
	return &ListMessages{access: access, messages: messages}
}

// Handle returns one page, each message with its siblings, and the total count.
func (h *ListMessages) Handle(ctx context.Context, caller Caller, sessionID string, q ports.MessageQuery) ([]ListedMessage, int, error) {
	if _, _, err := h.access.Session(ctx, caller, sessionID); err != nil {
		return nil, 0, err
	}
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
