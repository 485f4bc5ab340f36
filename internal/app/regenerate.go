package app

import (
	"context"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// RegenerateCmd asks for a new answer to a turn.
type RegenerateCmd struct {
	MessageID string
	Provider  *domain.Provider
	Model     *string
	Settings  *domain.Settings // replaces the session's settings for this reply only
}

// Regenerate answers a turn again: for a reply, a sibling under the same
// turn; for a user or system message, a reply under it. The new reply
// becomes the session's current message. Limits and roles are a post's.
type Regenerate struct {
	access   *Access
	messages ports.MessageRepository
	gen      *Generator
}

// NewRegenerate builds the use case.
func NewRegenerate(access *Access, messages ports.MessageRepository, gen *Generator) *Regenerate {
	return &Regenerate{access: access, messages: messages, gen: gen}
}

// Handle stores the new placeholder and starts it.
func (h *Regenerate) Handle(ctx context.Context, caller Caller, cmd RegenerateCmd) (*domain.ChatMessage, error) {
	m, p, err := h.access.Message(ctx, h.messages, caller, cmd.MessageID)
	if err != nil {
		return nil, err
	}
	if err := p.MayPost(); err != nil {
		return nil, err
	}
	parentID, err := m.RegenerationParent()
	if err != nil {
		return nil, err
	}
	session, _, err := h.access.Session(ctx, caller, m.SessionID())
	if err != nil {
		return nil, err
	}
	target, err := overrideTarget(session, cmd.Provider, cmd.Model, cmd.Settings)
	if err != nil {
		return nil, err
	}
	pending, err := h.gen.admit(ctx, caller, session, target)
	if err != nil {
		return nil, err
	}
	turn := ports.NewTurn{Reply: pending.Placeholder(), Lease: pending.Lease(), Placement: domain.Under(parentID)}
	if err := h.messages.CreateTurn(ctx, turn); err != nil {
		pending.Abandon()
		return nil, err
	}
	view := pending.Placeholder().Clone()
	pending.Start()
	return view, nil
}
