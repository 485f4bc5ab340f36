package domain

import (
	"strings"
	"time"
)

// MaxTitleChars bounds a session title.
const MaxTitleChars = 200

// ChatSession is a conversation with one model. It never loads its messages:
// those are their own entity, keyed by session id.
type ChatSession struct {
	id            string
	ownerID       string
	title         string
	provider      Provider
	model         string
	settings      Settings
	isActive      bool
	createdAt     time.Time
	updatedAt     time.Time
	messageCount  int
	lastMessageAt *time.Time
	// currentMessageID is the newest message of the branch on screen; the
	// repository moves it in the transaction that changes the tree.
	currentMessageID *string
}

// NewSessionParams are what a caller chooses when creating a session.
type NewSessionParams struct {
	ID       string
	OwnerID  string
	Title    string
	Provider Provider
	Model    string
	Settings Settings
	Now      time.Time
}

// NewChatSession validates and builds an active, empty session.
func NewChatSession(p NewSessionParams) (*ChatSession, error) {
	title := strings.TrimSpace(p.Title)
	if err := checkText("title", title, 0, MaxTitleChars); err != nil {
		return nil, err
	}
	if _, err := ParseProvider(string(p.Provider)); err != nil {
		return nil, err
	}
	if err := CheckModel("llm_model", p.Model); err != nil {
		return nil, err
	}
	if err := p.Settings.Validate(); err != nil {
		return nil, err
	}
	now := p.Now.UTC()
	return &ChatSession{
		id: p.ID, ownerID: p.OwnerID, title: title, provider: p.Provider, model: p.Model,
		settings: p.Settings, isActive: true, createdAt: now, updatedAt: now,
	}, nil
}

// SessionSnapshot is the full stored state of a session; storage only.
type SessionSnapshot struct {
	ID, OwnerID, Title, Model string
	Provider                  Provider
	Settings                  Settings
	IsActive                  bool
	CreatedAt, UpdatedAt      time.Time
	MessageCount              int
	LastMessageAt             *time.Time
	CurrentMessageID          *string
}

// RehydrateSession rebuilds a stored session without validation; storage only.
func RehydrateSession(s SessionSnapshot) *ChatSession {
	return &ChatSession{
		id: s.ID, ownerID: s.OwnerID, title: s.Title, provider: s.Provider, model: s.Model,
		settings: s.Settings, isActive: s.IsActive, createdAt: s.CreatedAt, updatedAt: s.UpdatedAt,
		messageCount: s.MessageCount, lastMessageAt: s.LastMessageAt, currentMessageID: s.CurrentMessageID,
	}
}

// Clone returns a copy that changes independently of s (its settings'
// values are shared: an update replaces them, never changes them).
func (s *ChatSession) Clone() *ChatSession {
	c := *s
	return &c
}

// Snapshot exposes the session's state for storage.
func (s *ChatSession) Snapshot() SessionSnapshot {
	return SessionSnapshot{
		ID: s.id, OwnerID: s.ownerID, Title: s.title, Model: s.model, Provider: s.provider,
		Settings: s.settings, IsActive: s.isActive, CreatedAt: s.createdAt, UpdatedAt: s.updatedAt,
		MessageCount: s.messageCount, LastMessageAt: s.lastMessageAt, CurrentMessageID: s.currentMessageID,
	}
}

// SessionPatch lists the fields an update changes; nil fields stay.
type SessionPatch struct {
	Title    *string
	Provider *Provider
	Model    *string
	Settings *Settings
	IsActive *bool
}

// IsEmpty tells whether the patch changes nothing.
func (p SessionPatch) IsEmpty() bool {
	return p.Title == nil && p.Provider == nil && p.Model == nil && p.Settings == nil && p.IsActive == nil
}

// Apply changes the session as the patch says, all or nothing.
func (s *ChatSession) Apply(p SessionPatch, now time.Time) error {
	next := *s
	if p.Title != nil {
		title := strings.TrimSpace(*p.Title)
		if err := checkText("title", title, 0, MaxTitleChars); err != nil {
			return err
		}
		next.title = title
	}
	if p.Provider != nil {
		if _, err := ParseProvider(string(*p.Provider)); err != nil {
			return err
		}
		next.provider = *p.Provider
	}
	if p.Model != nil {
		if err := CheckModel("llm_model", *p.Model); err != nil {
			return err
		}
		next.model = *p.Model
	}
	if p.Settings != nil {
		if err := p.Settings.Validate(); err != nil {
			return err
		}
		next.settings = *p.Settings
	}
	if p.IsActive != nil {
		next.isActive = *p.IsActive
	}
	next.updatedAt = now.UTC()
	*s = next
	return nil
}

// SetTitleIfEmpty names a session from its first exchange; a title the owner
// chose is never overwritten.
func (s *ChatSession) SetTitleIfEmpty(title string, now time.Time) bool {
	title = strings.TrimSpace(title)
	if s.title != "" || title == "" || checkText("title", title, 1, MaxTitleChars) != nil {
		return false
	}
	s.title = title
	s.updatedAt = now.UTC()
	return true
}

func (s *ChatSession) ID() string                { return s.id }
func (s *ChatSession) OwnerID() string           { return s.ownerID }
func (s *ChatSession) Title() string             { return s.title }
func (s *ChatSession) Provider() Provider        { return s.provider }
func (s *ChatSession) Model() string             { return s.model }
func (s *ChatSession) Settings() Settings        { return s.settings }
func (s *ChatSession) IsActive() bool            { return s.isActive }
func (s *ChatSession) CreatedAt() time.Time      { return s.createdAt }
func (s *ChatSession) UpdatedAt() time.Time      { return s.updatedAt }
func (s *ChatSession) MessageCount() int         { return s.messageCount }
func (s *ChatSession) LastMessageAt() *time.Time { return s.lastMessageAt }
func (s *ChatSession) CurrentMessageID() *string { return s.currentMessageID }
