// Package wire holds the JSON shapes that more than one edge writes: a chat
// message and a session look the same in REST answers, SSE streams and
// WebSocket frames.
package wire

import (
	"time"

	"github.com/chatd/chatd/internal/domain"
)

// Timestamp renders RFC 3339 in UTC with milliseconds, as the contract fixes.
type Timestamp time.Time

// MarshalText writes the fixed-width form; encoding/json quotes it. (A
// text marshaler, not MarshalJSON: json would compact and validate each
// MarshalJSON answer, which cost more than the formatting on message lists.)
func (t Timestamp) MarshalText() ([]byte, error) {
	return time.Time(t).UTC().AppendFormat(make([]byte, 0, len(timestampLayout)), timestampLayout), nil
}

const timestampLayout = "2006-01-02T15:04:05.000Z"

func optionalTimestamp(t *time.Time) *Timestamp {
	if t == nil {
		return nil
	}
	ts := Timestamp(*t)
	return &ts
}

// Settings is a session's generation settings; absent ones are omitted.
type Settings struct {
	SystemPrompt       *string  `json:"system_prompt,omitempty"`
	Temperature        *float64 `json:"temperature,omitempty"`
	TopP               *float64 `json:"top_p,omitempty"`
	MaxTokens          *int     `json:"max_tokens,omitempty"`
	MaxContextMessages *int     `json:"max_context_messages,omitempty"`
	Stop               []string `json:"stop,omitempty"`
	FallbackModels     []string `json:"fallback_models,omitempty"`
}

// FromSettings renders settings.
func FromSettings(s domain.Settings) Settings {
	return Settings{SystemPrompt: s.SystemPrompt, Temperature: s.Temperature, TopP: s.TopP, MaxTokens: s.MaxTokens,
		MaxContextMessages: s.MaxContextMessages, Stop: s.Stop, FallbackModels: s.FallbackModels}
}

// ToDomain reads settings a client sent.
func (b Settings) ToDomain() domain.Settings {
	return domain.Settings{SystemPrompt: b.SystemPrompt, Temperature: b.Temperature, TopP: b.TopP, MaxTokens: b.MaxTokens,
		MaxContextMessages: b.MaxContextMessages, Stop: b.Stop, FallbackModels: b.FallbackModels}
}

// Session is a chat session as clients see it.
type Session struct {
	ID            string     `json:"id"`
	UserID        string     `json:"user_id"`
	Title         string     `json:"title"`
	LLMProvider   string     `json:"llm_provider"`
	LLMModel      string     `json:"llm_model"`
	Settings      Settings   `json:"settings"`
	IsActive      bool       `json:"is_active"`
	CreatedAt     Timestamp  `json:"created_at"`
	UpdatedAt     Timestamp  `json:"updated_at"`
	MessageCount  int        `json:"message_count"`
	LastMessageAt *Timestamp `json:"last_message_at"`
	// CurrentMessageID is the newest message of the branch on screen.
	CurrentMessageID *string `json:"current_message_id"`
}

// FromSession renders a session as clients see it.
func FromSession(s *domain.ChatSession) Session { return FromSessionSnapshot(s.Snapshot()) }

// FromSessionSnapshot renders a session's state as clients see it.
func FromSessionSnapshot(s domain.SessionSnapshot) Session {
	return Session{ID: s.ID, UserID: s.OwnerID, Title: s.Title, LLMProvider: string(s.Provider),
		LLMModel: s.Model, Settings: FromSettings(s.Settings), IsActive: s.IsActive,
		CreatedAt: Timestamp(s.CreatedAt), UpdatedAt: Timestamp(s.UpdatedAt), MessageCount: s.MessageCount,
		LastMessageAt: optionalTimestamp(s.LastMessageAt), CurrentMessageID: s.CurrentMessageID}
}

// Message is a chat message as clients see it.
type Message struct {
	ID              string         `json:"id"`
	SessionID       string         `json:"session_id"`
	UserID          string         `json:"user_id"`
	ParentID        *string        `json:"parent_id"`
	Role            string         `json:"role"`
	Content         string         `json:"content"`
	LLMProvider     string         `json:"llm_provider"`
	LLMModel        string         `json:"llm_model"`
	ResponseTimeMs  *int           `json:"response_time_ms"`
	TokensUsed      *int           `json:"tokens_used"`
	ErrorMessage    *string        `json:"error_message"`
	IsStreaming     bool           `json:"is_streaming"`
	Status          string         `json:"status"`
	MessageMetadata map[string]any `json:"message_metadata"`
	CreatedAt       Timestamp      `json:"created_at"`
	UpdatedAt       Timestamp      `json:"updated_at"`
	// SiblingIDs is set in message lists only: every message under the same
	// parent, itself included, oldest first.
	SiblingIDs []string `json:"sibling_ids,omitempty"`
}

// FromMessage renders a message as clients see it.
func FromMessage(m *domain.ChatMessage) Message { return FromMessageSnapshot(m.Snapshot()) }

// FromMessageSnapshot renders a message's state as clients see it.
func FromMessageSnapshot(s domain.MessageSnapshot) Message {
	meta := s.Metadata
	if meta == nil {
		meta = map[string]any{}
	}
	return Message{ID: s.ID, SessionID: s.SessionID, UserID: s.UserID, ParentID: s.ParentID,
		Role: string(s.Role), Content: s.Content, LLMProvider: string(s.Provider), LLMModel: s.Model,
		ResponseTimeMs: s.ResponseTimeMs, TokensUsed: s.TokensUsed, ErrorMessage: s.ErrorMessage,
		IsStreaming: s.Status == domain.StatusStreaming, Status: string(s.Status), MessageMetadata: meta,
		CreatedAt: Timestamp(s.CreatedAt), UpdatedAt: Timestamp(s.UpdatedAt)}
}

// FromOptionalMessage renders a message, or null.
func FromOptionalMessage(m *domain.ChatMessage) *Message {
	if m == nil {
		return nil
	}
	r := FromMessage(m)
	return &r
}
