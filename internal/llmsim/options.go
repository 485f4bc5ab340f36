package llmsim

import (
	"time"
)

// DefaultReplyTokens is the reply length when Options.ReplyTokens is 0.
const DefaultReplyTokens = 20

// Reasoning delta fields a simulated model can use.
const (
	ReasoningField        = "reasoning"         // OpenRouter, Ollama
	ReasoningContentField = "reasoning_content" // DeepSeek, vLLM, llama.cpp
)

// Options is the default behaviour of a Server; directives in a request's
// model name override it for that request (see the package documentation).
type Options struct {
	// TimeToFirstToken is the wait before the first chunk (reasoning or content).
	TimeToFirstToken time.Duration
	// TokensPerSecond paces the chunks after the first; 0 sends them as fast as possible.
	TokensPerSecond float64
	// ReplyTokens is the reply length: 0 means DefaultReplyTokens, a negative value an empty reply.
	ReplyTokens int
	// Fault is the failure to simulate; FaultNone for a clean reply.
	Fault Fault
	// StallAfter is how many content tokens precede a mid-stream fault: 0 means
	// half the reply, a negative value a fault before the first token.
	StallAfter int
	// Reasoning sends the ReasoningChunks before the content.
	Reasoning bool
	// ReasoningField names the delta field of reasoning chunks: ReasoningField
	// (the default when empty) or ReasoningContentField.
	ReasoningField string
	// KeepAlive is the interval of ": OPENROUTER PROCESSING" comments while
	// waiting for the first token; 0 sends none.
	KeepAlive time.Duration
	// DisableRecording stops Requests from growing: for long-running processes.
	DisableRecording bool
}

// plan is Options resolved for one request: no defaults left to apply.
type plan struct {
	ttft           time.Duration
	interval       time.Duration // between chunks after the first; 0 = no pacing
	keepAlive      time.Duration
	tokens         int
	stallAfter     int
	fault          Fault
	reasoning      bool
	reasoningField string
}

func (o Options) plan() plan {
	p := plan{
		ttft:           max(o.TimeToFirstToken, 0),
		keepAlive:      max(o.KeepAlive, 0),
		fault:          o.Fault,
		reasoning:      o.Reasoning,
		reasoningField: ReasoningField,
	}
	if o.ReasoningField == ReasoningContentField {
		p.reasoningField = ReasoningContentField
	}
	switch {
	case o.ReplyTokens > 0:
		p.tokens = o.ReplyTokens
	case o.ReplyTokens == 0:
		p.tokens = DefaultReplyTokens
	}
	switch {
	case o.StallAfter > 0:
		p.stallAfter = o.StallAfter
	case o.StallAfter == 0:
		p.stallAfter = p.tokens / 2
	}
	if o.TokensPerSecond > 0 {
		p.interval = time.Duration(float64(time.Second) / o.TokensPerSecond)
	}
	return p
}
