package llmsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Request is a chat-completions request as the simulator received it.
// Body and Header are shared with the recording: treat them as read-only.
type Request struct {
	Model         string
	Messages      []Message
	Stream        bool
	Temperature   *float64
	TopP          *float64
	MaxTokens     int // max_completion_tokens, else max_tokens; 0 when absent
	Stop          []string
	Models        []string // OpenRouter fallbacks; recorded, not acted upon
	StreamOptions *StreamOptions

	Body     []byte      // the raw request body
	Header   http.Header // the request headers
	Received time.Time
}

// Message is one chat message. Content holds the text; when the wire carries
// an array of content parts, their text parts are concatenated.
type Message struct {
	Role    string
	Content string
	Name    string
}

// StreamOptions are the request's stream_options.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// LastUserMessage is the content of the last message whose role is "user".
func (r Request) LastUserMessage() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i].Content
		}
	}
	return ""
}

// IncludeUsage reports whether stream_options.include_usage is set.
func (r Request) IncludeUsage() bool {
	return r.StreamOptions != nil && r.StreamOptions.IncludeUsage
}

// wireRequest is the JSON shape of a request body.
type wireRequest struct {
	Model               string          `json:"model"`
	Messages            []wireMessage   `json:"messages"`
	Stream              bool            `json:"stream"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	MaxTokens           int             `json:"max_tokens"`
	MaxCompletionTokens int             `json:"max_completion_tokens"`
	Stop                json.RawMessage `json:"stop"`
	Models              []string        `json:"models"`
	StreamOptions       *StreamOptions  `json:"stream_options"`
}

type wireMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	Name    string          `json:"name"`
}

type contentPart struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// decodeRequest parses a body; the caller fills Body, Header and Received.
func decodeRequest(body []byte) (Request, error) {
	var w wireRequest
	if err := json.Unmarshal(body, &w); err != nil {
		return Request{}, fmt.Errorf("invalid JSON body: %w", err)
	}
	req := Request{
		Model:         w.Model,
		Stream:        w.Stream,
		Temperature:   w.Temperature,
		TopP:          w.TopP,
		MaxTokens:     w.MaxTokens,
		Models:        w.Models,
		StreamOptions: w.StreamOptions,
	}
	if w.MaxCompletionTokens > 0 {
		req.MaxTokens = w.MaxCompletionTokens
	}
	stop, err := stringOrList(w.Stop)
	if err != nil {
		return Request{}, fmt.Errorf("stop: %w", err)
	}
	req.Stop = stop
	req.Messages = make([]Message, len(w.Messages))
	for i, m := range w.Messages {
		text, err := messageText(m.Content)
		if err != nil {
			return Request{}, fmt.Errorf("messages[%d].content: %w", i, err)
		}
		req.Messages[i] = Message{Role: m.Role, Content: text, Name: m.Name}
	}
	return req, nil
}

func messageText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '[' {
		var parts []contentPart
		if err := json.Unmarshal(raw, &parts); err != nil {
			return "", err
		}
		var b strings.Builder
		for _, p := range parts {
			if p.Type == "text" || p.Type == "" {
				b.WriteString(p.Text)
			}
		}
		return b.String(), nil
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

func stringOrList(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '[' {
		var list []string
		err := json.Unmarshal(raw, &list)
		return list, err
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	return []string{s}, nil
}
