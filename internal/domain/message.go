package domain

import (
	"maps"
	"time"
)

// MessageRole is who a message speaks for.
type MessageRole string

const (
	RoleUser      MessageRole = "user"
	RoleAssistant MessageRole = "assistant"
	RoleSystem    MessageRole = "system"
)

// MessageStatus tracks a message through generation.
type MessageStatus string

const (
	StatusPending     MessageStatus = "pending"
	StatusStreaming   MessageStatus = "streaming"
	StatusCompleted   MessageStatus = "completed"
	StatusFailed      MessageStatus = "failed"
	StatusCancelled   MessageStatus = "cancelled"
	StatusInterrupted MessageStatus = "interrupted"
)

// IsFinal reports whether no more text will be added.
func (s MessageStatus) IsFinal() bool {
	return s != StatusPending && s != StatusStreaming
}

// DefaultMaxMessageChars is CHAT_MAX_MESSAGE_CHARS's default.
const DefaultMaxMessageChars = 32000

// ParsePostedRole accepts the roles a client may post: never assistant.
func ParsePostedRole(s string) (MessageRole, error) {
	switch MessageRole(s) {
	case RoleUser:
		return RoleUser, nil
	case RoleSystem:
		return RoleSystem, nil
	}
	return "", InvalidField("role", "must be one of user, system")
}

// ChatMessage is one turn of a session: a user's or system text, or an
// assistant reply that may still be generating.
type ChatMessage struct {
	id             string
	sessionID      string
	userID         string
	parentID       *string
	role           MessageRole
	content        string
	provider       Provider
	model          string
	responseTimeMs *int
	tokensUsed     *int
	errorMessage   *string
	status         MessageStatus
	metadata       map[string]any
	createdAt      time.Time
	updatedAt      time.Time
}

// NewPostedMessage builds a user or system message a client posted.
func NewPostedMessage(id, sessionID, authorID string, parentID *string, role MessageRole, content string,
	maxChars int, session *ChatSession, now time.Time,
) (*ChatMessage, error) {
	if role != RoleUser && role != RoleSystem {
		return nil, InvalidField("role", "must be one of user, system")
	}
	if err := checkText("content", content, 1, maxChars); err != nil {
		return nil, err
	}
	now = now.UTC()
	return &ChatMessage{
		id: id, sessionID: sessionID, userID: authorID, parentID: parentID, role: role, content: content,
		provider: session.Provider(), model: session.Model(), status: StatusCompleted,
		metadata: map[string]any{}, createdAt: now, updatedAt: now,
	}, nil
}

// NewReplyPlaceholder builds the pending assistant message a generation fills.
// requesterID is the user whose turn asked for it.
func NewReplyPlaceholder(id, sessionID, requesterID string, parentID *string, provider Provider, model string,
	now time.Time,
) (*ChatMessage, error) {
	if _, err := ParseProvider(string(provider)); err != nil {
		return nil, err
	}
	if err := CheckModel("llm_model", model); err != nil {
		return nil, err
	}
	now = now.UTC()
	return &ChatMessage{
		id: id, sessionID: sessionID, userID: requesterID, parentID: parentID, role: RoleAssistant,
		provider: provider, model: model, status: StatusPending, metadata: map[string]any{},
		createdAt: now, updatedAt: now,
	}, nil
}

// MessageSnapshot is the full stored state of a message; storage only.
type MessageSnapshot struct {
	ID, SessionID, UserID string
	ParentID              *string
	Role                  MessageRole
	Content               string
	Provider              Provider
	Model                 string
	ResponseTimeMs        *int
	TokensUsed            *int
	ErrorMessage          *string
	Status                MessageStatus
	Metadata              map[string]any
	CreatedAt, UpdatedAt  time.Time
}

// RehydrateMessage rebuilds a stored message without validation; storage only.
func RehydrateMessage(s MessageSnapshot) *ChatMessage {
	if s.Metadata == nil {
		s.Metadata = map[string]any{}
	}
	return &ChatMessage{
		id: s.ID, sessionID: s.SessionID, userID: s.UserID, parentID: s.ParentID, role: s.Role,
		content: s.Content, provider: s.Provider, model: s.Model, responseTimeMs: s.ResponseTimeMs,
		tokensUsed: s.TokensUsed, errorMessage: s.ErrorMessage, status: s.Status, metadata: s.Metadata,
		createdAt: s.CreatedAt, updatedAt: s.UpdatedAt,
	}
}

// Snapshot exposes the message's state for storage and presentation.
func (m *ChatMessage) Snapshot() MessageSnapshot {
	return MessageSnapshot{
		ID: m.id, SessionID: m.sessionID, UserID: m.userID, ParentID: m.parentID, Role: m.role,
		Content: m.content, Provider: m.provider, Model: m.model, ResponseTimeMs: m.responseTimeMs,
		TokensUsed: m.tokensUsed, ErrorMessage: m.errorMessage, Status: m.status, Metadata: maps.Clone(m.metadata),
		CreatedAt: m.createdAt, UpdatedAt: m.updatedAt,
	}
}

// MessageEdit lists what an author changes in their own message; nil stays.
type MessageEdit struct {
	Content  *string
	Metadata map[string]any
}

// Edit lets the author change their own user message.
func (m *ChatMessage) Edit(editorID string, e MessageEdit, maxChars int, now time.Time) error {
	if m.role != RoleUser || m.userID != editorID {
		return Forbidden("not-message-author", "only the author may edit their own user messages")
	}
	if e.Content != nil {
		if err := checkText("content", *e.Content, 1, maxChars); err != nil {
			return err
		}
		m.content = *e.Content
	}
	if e.Metadata != nil {
		m.metadata = e.Metadata
	}
	m.updatedAt = now.UTC()
	return nil
}

func (m *ChatMessage) ID() string               { return m.id }
func (m *ChatMessage) SessionID() string        { return m.sessionID }
func (m *ChatMessage) UserID() string           { return m.userID }
func (m *ChatMessage) ParentID() *string        { return m.parentID }
func (m *ChatMessage) Role() MessageRole        { return m.role }
func (m *ChatMessage) Content() string          { return m.content }
func (m *ChatMessage) Provider() Provider       { return m.provider }
func (m *ChatMessage) Model() string            { return m.model }
func (m *ChatMessage) Status() MessageStatus    { return m.status }
func (m *ChatMessage) ResponseTimeMs() *int     { return m.responseTimeMs }
func (m *ChatMessage) TokensUsed() *int         { return m.tokensUsed }
func (m *ChatMessage) ErrorMessage() *string    { return m.errorMessage }
func (m *ChatMessage) Metadata() map[string]any { return m.metadata }
func (m *ChatMessage) CreatedAt() time.Time     { return m.createdAt }
func (m *ChatMessage) UpdatedAt() time.Time     { return m.updatedAt }
func (m *ChatMessage) IsStreaming() bool        { return m.status == StatusStreaming }
