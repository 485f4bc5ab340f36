package app

import (
	"context"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// cancelWait bounds how long a cancel waits for the run to store its end.
const cancelWait = 5 * time.Second

// CancelGeneration stops a reply that is generating and keeps its text.
type CancelGeneration struct {
	access   *Access
	messages ports.MessageRepository
	gen      *Generator
	events   *Announcer
	clock    ports.Clock
}

// NewCancelGeneration builds the use case.
func NewCancelGeneration(access *Access, messages ports.MessageRepository, gen *Generator, events *Announcer,
	clock ports.Clock,
) *CancelGeneration {
	return &CancelGeneration{access: access, messages: messages, gen: gen, events: events, clock: clock}
}

// Handle cancels the reply and returns it as stored. Any participant who may
// post may cancel; cancelling a reply already cancelled answers it again.
func (h *CancelGeneration) Handle(ctx context.Context, caller Caller, messageID string) (*domain.ChatMessage, error) {
	m, p, err := h.access.Message(ctx, h.messages, caller, messageID)
	if err != nil {
		return nil, err
	}
	if err := p.MayPost(); err != nil {
		return nil, err
	}
	if m.Status() == domain.StatusCancelled {
		return m, nil
	}
	if m.Role() != domain.RoleAssistant || m.Status().IsFinal() {
		return nil, domain.Conflict("message-not-generating",
			"this message is not being generated (status "+string(m.Status())+")")
	}
	waitCtx, cancel := context.WithTimeout(ctx, cancelWait)
	defer cancel()
	if h.gen.cancel(waitCtx, messageID) {
		return h.messages.Get(ctx, messageID)
	}
	// Another process may generate it: ask the service, and give its owner
	// a moment to stop it and store its end.
	if stopped, err := h.gen.cancelElsewhere(ctx, messageID); err != nil || stopped != nil {
		return stopped, err
	}
	// Nobody stopped it (it was just finishing, or its process died): store
	// the cancellation directly. Its owner, if it comes back, can no longer
	// write it: a reply's own writes are conditional on it being unfinished.
	m, err = h.messages.Update(ctx, messageID, func(m *domain.ChatMessage) error {
		return m.Cancel(m.Content(), domain.GenerationResult{FinishReason: "cancelled"}, h.clock.Now())
	})
	if err != nil {
		return nil, err
	}
	h.events.Publish(ctx, domain.MessageEvent(domain.EventMessageCancelled, m))
	return m, nil
}
