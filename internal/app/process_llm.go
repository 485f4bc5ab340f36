package app

import (
	"context"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// ProcessLLMCmd asks for a reply that continues the session's current
// branch; Prompt, when given, is first stored there as a user message.
type ProcessLLMCmd struct {
	SessionID string
	Prompt    *string
	Provider  *domain.Provider
	Model     *string
	Settings  *domain.Settings // replaces the session's settings for this reply only
}

// ProcessLLM continues the current branch with a new reply, after an
// optional prompt. (To answer an earlier turn again, see Regenerate.)
type ProcessLLM struct {
	access   *Access
	messages ports.MessageRepository
	gen      *Generator
	ids      ports.IDs
	clock    ports.Clock
	limits   Limits
}

// NewProcessLLM builds the use case.
func NewProcessLLM(access *Access, messages ports.MessageRepository, gen *Generator, ids ports.IDs, clock ports.Clock,
	limits Limits,
) *ProcessLLM {
	return &ProcessLLM{access: access, messages: messages, gen: gen, ids: ids, clock: clock, limits: limits}
}

// Handle stores the prompt (if any) and the placeholder after the current
// message, then starts the reply.
func (h *ProcessLLM) Handle(ctx context.Context, caller Caller, cmd ProcessLLMCmd) (*domain.ChatMessage, error) {
	session, p, err := h.access.Session(ctx, caller, cmd.SessionID)
	if err != nil {
		return nil, err
	}
	if err := p.MayPost(); err != nil {
		return nil, err
	}
	target, err := overrideTarget(session, cmd.Provider, cmd.Model, cmd.Settings)
	if err != nil {
		return nil, err
	}
	var prompt *domain.ChatMessage
	if cmd.Prompt != nil {
		prompt, err = domain.NewPostedMessage(h.ids.NewID(), cmd.SessionID, caller.UserID, nil, domain.RoleUser,
			*cmd.Prompt, h.limits.MaxMessageChars, session, h.clock.Now())
		if err != nil {
			return nil, err
		}
	}
	pending, err := h.gen.admit(ctx, caller, session, target)
	if err != nil {
		return nil, err
	}
	turn := ports.NewTurn{Message: prompt, Reply: pending.Placeholder(), Lease: pending.Lease(), Placement: domain.FollowCurrent()}
	if err := h.messages.CreateTurn(ctx, turn); err != nil {
		pending.Abandon()
		return nil, err
	}
	view := pending.Placeholder().Clone()
	pending.Start(prompt) // a nil prompt is not announced
	return view, nil
}

// overrideTarget applies a request's provider, model and settings to the
// session's own.
func overrideTarget(s *domain.ChatSession, provider *domain.Provider, model *string, settings *domain.Settings) (replyTarget, error) {
	target := targetOf(s, provider, model)
	if settings != nil {
		if err := settings.Validate(); err != nil {
			return replyTarget{}, err
		}
		target.settings = *settings
	}
	return target, nil
}
