package app

import (
	"context"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// ProcessLLMCmd asks for a new reply from the session's history; Prompt,
// when given, is stored first as a user message.
type ProcessLLMCmd struct {
	SessionID string
	Prompt    *string
	Provider  *domain.Provider
	Model     *string
	Settings  *domain.Settings // replaces the session's settings for this reply only
}

// ProcessLLM starts a reply without a new post (regenerate, continue).
type ProcessLLM struct {
	access   *Access
	messages ports.MessageRepository
	replies  *Replies
	ids      ports.IDs
	clock    ports.Clock
	limits   Limits
}

// NewProcessLLM builds the use case.
func NewProcessLLM(access *Access, messages ports.MessageRepository, replies *Replies, ids ports.IDs, clock ports.Clock,
	limits Limits,
) *ProcessLLM {
	return &ProcessLLM{access: access, messages: messages, replies: replies, ids: ids, clock: clock, limits: limits}
}

// Handle stores the prompt (if any) and the placeholder, then starts the reply.
func (h *ProcessLLM) Handle(ctx context.Context, caller Caller, cmd ProcessLLMCmd) (*domain.ChatMessage, error) {
	session, p, err := h.access.Session(ctx, caller, cmd.SessionID)
	if err != nil {
		return nil, err
	}
	if err := p.MayPost(); err != nil {
		return nil, err
	}
	target := targetOf(session, cmd.Provider, cmd.Model)
	if cmd.Settings != nil {
		if err := cmd.Settings.Validate(); err != nil {
			return nil, err
		}
		target.settings = *cmd.Settings
	}
	parentID, err := lastMessageID(ctx, h.messages, cmd.SessionID)
	if err != nil {
		return nil, err
	}
	var prompt *domain.ChatMessage
	if cmd.Prompt != nil {
		prompt, err = domain.NewPostedMessage(h.ids.NewID(), cmd.SessionID, caller.UserID, parentID, domain.RoleUser,
			*cmd.Prompt, h.limits.MaxMessageChars, session, h.clock.Now())
		if err != nil {
			return nil, err
		}
		id := prompt.ID()
		parentID = &id
	}
	release, err := h.replies.admit(ctx, caller)
	if err != nil {
		return nil, err
	}
	reply, err := h.replies.placeholder(session, caller, parentID, target)
	if err != nil {
		release()
		return nil, err
	}
	turn := ports.NewTurn{Message: prompt, Reply: reply}
	if prompt == nil {
		turn = ports.NewTurn{Message: reply}
	}
	if err := h.messages.CreateTurn(ctx, turn); err != nil {
		release()
		return nil, err
	}
	view := domain.RehydrateMessage(reply.Snapshot())
	h.replies.start(session, target, release, prompt, reply)
	return view, nil
}
