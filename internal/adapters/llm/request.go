package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/chatd/chatd/internal/ports"
)

const (
	acceptStream = "text/event-stream"
	acceptJSON   = "application/json"
)

// chatRequest is the body of POST {base}/chat/completions.
type chatRequest struct {
	Model string `json:"model"`
	// Models asks OpenRouter to fall back by itself, in this order.
	Models        []string       `json:"models,omitempty"`
	Messages      []chatMessage  `json:"messages"`
	Stream        bool           `json:"stream"`
	StreamOptions *streamOptions `json:"stream_options,omitempty"`
	Temperature   *float64       `json:"temperature,omitempty"`
	TopP          *float64       `json:"top_p,omitempty"`
	MaxTokens     *int           `json:"max_tokens,omitempty"`
	Stop          []string       `json:"stop,omitempty"`
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// modelChain lists the models to try, primary first, without blanks or
// repeats (trying a model twice would only spend the time budget twice).
func modelChain(req ports.CompletionRequest) []string {
	chain := make([]string, 0, 1+len(req.FallbackModels))
	seen := make(map[string]bool, 1+len(req.FallbackModels))
	for _, m := range append([]string{req.Model}, req.FallbackModels...) {
		if m != "" && !seen[m] {
			seen[m] = true
			chain = append(chain, m)
		}
	}
	return chain
}

// encodeRequest renders the body for one model. fallbacks, when not empty,
// travel in the request for a provider that routes them itself.
func encodeRequest(req ports.CompletionRequest, model string, fallbacks []string, stream bool) ([]byte, error) {
	body := chatRequest{
		Model:       model,
		Messages:    make([]chatMessage, len(req.Messages)),
		Stream:      stream,
		Temperature: req.Temperature,
		TopP:        req.TopP,
		MaxTokens:   req.MaxTokens,
		Stop:        req.Stop,
	}
	if len(fallbacks) > 0 {
		body.Models = append([]string{model}, fallbacks...)
	}
	if stream {
		// Without it most servers send no usage at all when streaming.
		body.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	for i, m := range req.Messages {
		body.Messages[i] = chatMessage{Role: string(m.Role), Content: m.Content}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	return b, nil
}

// newRequest builds a request to the provider's own base URL. The key is set
// here and nowhere else, so it can only ever go to the host it was
// configured for (redirects are not followed).
func newRequest(ctx context.Context, p *provider, method, path string, body []byte, accept string) (*http.Request, error) {
	var rd io.Reader // a nil interface, not a nil *bytes.Reader, for GET
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", accept)
	if accept == acceptStream {
		// A compressing hop holds tokens back until its buffer fills; the
		// text of a reply compresses too little to be worth that.
		req.Header.Set("Accept-Encoding", "identity")
	}
	req.Header.Set("User-Agent", "chatd")
	if p.key != "" {
		req.Header.Set("Authorization", "Bearer "+p.key)
	}
	if p.referer != "" {
		req.Header.Set("HTTP-Referer", p.referer)
	}
	if p.title != "" {
		req.Header.Set("X-Title", p.title)
	}
	return req, nil
}
