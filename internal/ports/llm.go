package ports

import (
	"context"

	"github.com/chatd/chatd/internal/domain"
)

// PromptMessage is one turn of the conversation sent to a model.
type PromptMessage struct {
	Role    domain.MessageRole
	Content string
}

// CompletionRequest is one reply to generate. Model is tried first, then each
// of FallbackModels, under the retry rules of the adapter.
type CompletionRequest struct {
	Provider       domain.Provider
	Model          string
	FallbackModels []string
	Messages       []PromptMessage
	Temperature    *float64
	TopP           *float64
	MaxTokens      *int
	Stop           []string
}

// Delta is a piece of a streamed reply: answer text, reasoning text, or both.
type Delta struct {
	Content   string
	Reasoning string
}

// Usage counts tokens of one reply. Estimated is true when the provider did
// not report them and the adapter estimated from the text.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
	Estimated        bool
	CostUSD          *float64
}

// Completion is how a reply ended.
type Completion struct {
	FinishReason string // stop, length, content_filter, tool_calls ...
	Model        string // the model that actually served the reply
	Usage        Usage
}

// ModelInfo is one model a provider offers.
type ModelInfo struct {
	ID            string
	Name          string
	ContextLength *int
}

// ChatModel talks to an LLM provider.
type ChatModel interface {
	// Stream generates a reply and calls onDelta for each piece, in order, on
	// the calling goroutine. It returns only when the reply is finished,
	// failed or ctx is done. A reply counts as finished only when the
	// provider said so; a stream that ends otherwise is an error. Errors are
	// *domain.Error of kind Unavailable (or Invalid for a request the provider
	// refused) with a sentence fit for users; partial text already delivered
	// through onDelta stays valid. If onDelta returns an error, Stream stops
	// and returns it.
	Stream(ctx context.Context, req CompletionRequest, onDelta func(Delta) error) (Completion, error)
	// Complete generates a short reply without streaming (titles).
	Complete(ctx context.Context, req CompletionRequest) (string, error)
	// Models lists the provider's models.
	Models(ctx context.Context, provider domain.Provider) ([]ModelInfo, error)
}
