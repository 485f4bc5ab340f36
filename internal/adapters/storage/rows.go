package storage

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/chatd/chatd/internal/domain"
)

// Rows are storage's own models: bun tags stay here, the domain never sees
// them, and toRow/toDomain are the only way across. Ids are strings (uuid on
// PostgreSQL, canonical text on SQLite); JSON columns are held as text and
// encoded here, so both dialects store the same bytes.

type userRow struct {
	bun.BaseModel `bun:"table:users,alias:u"`

	ID           string    `bun:"id,pk"`
	Email        string    `bun:"email"`
	DisplayName  string    `bun:"display_name"`
	PasswordHash string    `bun:"password_hash"`
	Role         string    `bun:"role"`
	CreatedAt    time.Time `bun:"created_at"`
}

type sessionRow struct {
	bun.BaseModel `bun:"table:chat_sessions,alias:s"`

	ID            string     `bun:"id,pk"`
	UserID        string     `bun:"user_id"`
	Title         string     `bun:"title"`
	LLMProvider   string     `bun:"llm_provider"`
	LLMModel      string     `bun:"llm_model"`
	Settings      string     `bun:"settings"`
	IsActive      bool       `bun:"is_active"`
	MessageCount  int        `bun:"message_count"`
	LastMessageAt *time.Time `bun:"last_message_at"`
	CreatedAt     time.Time  `bun:"created_at"`
	UpdatedAt     time.Time  `bun:"updated_at"`
	// CurrentMessageID is written only by the tree's writes (posts,
	// branch switches, deletes); a session update leaves it out.
	CurrentMessageID *string `bun:"current_message_id"`
}

type participantRow struct {
	bun.BaseModel `bun:"table:session_participants,alias:p"`

	SessionID string    `bun:"session_id,pk"`
	UserID    string    `bun:"user_id,pk"`
	Role      string    `bun:"role"`
	CreatedAt time.Time `bun:"created_at"`
}

type messageRow struct {
	bun.BaseModel `bun:"table:chat_messages,alias:m"`

	ID              string    `bun:"id,pk"`
	SessionID       string    `bun:"session_id"`
	UserID          string    `bun:"user_id"`
	ParentID        *string   `bun:"parent_id"`
	Role            string    `bun:"role"`
	Content         string    `bun:"content"`
	LLMProvider     string    `bun:"llm_provider"`
	LLMModel        string    `bun:"llm_model"`
	ResponseTimeMs  *int      `bun:"response_time_ms"`
	TokensUsed      *int      `bun:"tokens_used"`
	ErrorMessage    *string   `bun:"error_message"`
	Status          string    `bun:"status"`
	MessageMetadata string    `bun:"message_metadata"`
	CreatedAt       time.Time `bun:"created_at"`
	UpdatedAt       time.Time `bun:"updated_at"`
	// The generating process's lease (see ports.MessageRepository.SaveReply);
	// storage only, never part of the domain message.
	OwnerID        *string    `bun:"owner_id"`
	LeaseExpiresAt *time.Time `bun:"lease_expires_at"`
	StreamedDeltas int        `bun:"streamed_deltas"`
}

type refreshTokenRow struct {
	bun.BaseModel `bun:"table:refresh_tokens,alias:rt"`

	ID        string     `bun:"id,pk"`
	FamilyID  string     `bun:"family_id"`
	UserID    string     `bun:"user_id"`
	TokenHash string     `bun:"token_hash"`
	ExpiresAt time.Time  `bun:"expires_at"`
	UsedAt    *time.Time `bun:"used_at"`
	RevokedAt *time.Time `bun:"revoked_at"`
	CreatedAt time.Time  `bun:"created_at"`
}

type idempotencyRow struct {
	bun.BaseModel `bun:"table:idempotency_keys,alias:ik"`

	UserID             string    `bun:"user_id,pk"`
	Key                string    `bun:"key,pk"`
	RequestHash        string    `bun:"request_hash"`
	UserMessageID      string    `bun:"user_message_id"`
	AssistantMessageID *string   `bun:"assistant_message_id"`
	CreatedAt          time.Time `bun:"created_at"`
}

// settingsJSON is the stored form of domain.Settings. Its keys are a file
// format: rename one only with a migration. omitzero drops nil values but
// keeps an empty list, so nil and [] round-trip as they were.
type settingsJSON struct {
	SystemPrompt       *string  `json:"system_prompt,omitzero"`
	Temperature        *float64 `json:"temperature,omitzero"`
	TopP               *float64 `json:"top_p,omitzero"`
	MaxTokens          *int     `json:"max_tokens,omitzero"`
	MaxContextMessages *int     `json:"max_context_messages,omitzero"`
	Stop               []string `json:"stop,omitzero"`
	FallbackModels     []string `json:"fallback_models,omitzero"`
}

// dbTime is how every timestamp is written: UTC, whole milliseconds.
// PostgreSQL keeps microseconds and SQLite keeps what it is given, so without
// this the same value would read back differently per dialect; milliseconds
// are also what the API shows.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func dbTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := dbTime(*t)
	return &v
}

// domainTime undoes the driver's choice of location (lib/pq answers in the
// session's time zone) so that values compare equal with ==.
func domainTime(t time.Time) time.Time { return t.UTC() }

func domainTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := domainTime(*t)
	return &v
}

func userToRow(u *domain.User) userRow {
	return userRow{
		ID: u.ID(), Email: u.Email(), DisplayName: u.DisplayName(), PasswordHash: u.PasswordHash(),
		Role: string(u.Role()), CreatedAt: dbTime(u.CreatedAt()),
	}
}

func userToDomain(r userRow) *domain.User {
	return domain.RehydrateUser(r.ID, r.Email, r.DisplayName, r.PasswordHash, domain.UserRole(r.Role), domainTime(r.CreatedAt))
}

func sessionToRow(s *domain.ChatSession) (sessionRow, error) {
	snap := s.Snapshot()
	settings, err := settingsToJSON(snap.Settings)
	if err != nil {
		return sessionRow{}, err
	}
	return sessionRow{
		ID: snap.ID, UserID: snap.OwnerID, Title: snap.Title, LLMProvider: string(snap.Provider),
		LLMModel: snap.Model, Settings: settings, IsActive: snap.IsActive, MessageCount: snap.MessageCount,
		LastMessageAt: dbTimePtr(snap.LastMessageAt), CreatedAt: dbTime(snap.CreatedAt), UpdatedAt: dbTime(snap.UpdatedAt),
		CurrentMessageID: snap.CurrentMessageID,
	}, nil
}

func sessionToDomain(r sessionRow) (*domain.ChatSession, error) {
	settings, err := settingsFromJSON(r.Settings)
	if err != nil {
		return nil, fmt.Errorf("session %s: %w", r.ID, err)
	}
	return domain.RehydrateSession(domain.SessionSnapshot{
		ID: r.ID, OwnerID: r.UserID, Title: r.Title, Model: r.LLMModel, Provider: domain.Provider(r.LLMProvider),
		Settings: settings, IsActive: r.IsActive, CreatedAt: domainTime(r.CreatedAt), UpdatedAt: domainTime(r.UpdatedAt),
		MessageCount: r.MessageCount, LastMessageAt: domainTimePtr(r.LastMessageAt), CurrentMessageID: r.CurrentMessageID,
	}), nil
}

func settingsToJSON(s domain.Settings) (string, error) {
	b, err := json.Marshal(settingsJSON{
		SystemPrompt: s.SystemPrompt, Temperature: s.Temperature, TopP: s.TopP, MaxTokens: s.MaxTokens,
		MaxContextMessages: s.MaxContextMessages, Stop: s.Stop, FallbackModels: s.FallbackModels,
	})
	if err != nil {
		return "", fmt.Errorf("encode settings: %w", err)
	}
	return string(b), nil
}

func settingsFromJSON(s string) (domain.Settings, error) {
	var j settingsJSON
	if err := json.Unmarshal([]byte(s), &j); err != nil {
		return domain.Settings{}, fmt.Errorf("decode settings: %w", err)
	}
	return domain.Settings{
		SystemPrompt: j.SystemPrompt, Temperature: j.Temperature, TopP: j.TopP, MaxTokens: j.MaxTokens,
		MaxContextMessages: j.MaxContextMessages, Stop: j.Stop, FallbackModels: j.FallbackModels,
	}, nil
}

func participantToRow(p domain.Participant) participantRow {
	return participantRow{SessionID: p.SessionID, UserID: p.UserID, Role: string(p.Role), CreatedAt: dbTime(p.CreatedAt)}
}

func participantToDomain(r participantRow) domain.Participant {
	return domain.Participant{
		SessionID: r.SessionID, UserID: r.UserID, Role: domain.ParticipantRole(r.Role), CreatedAt: domainTime(r.CreatedAt),
	}
}

func messageToRow(m *domain.ChatMessage) (messageRow, error) {
	snap := m.Snapshot()
	// Generated text comes from an upstream model, not through the domain's
	// checks; refuse NUL the same way on both dialects (bun refuses to send
	// it, PostgreSQL could not store it) instead of failing as an outage.
	if strings.IndexByte(snap.Content, 0) >= 0 {
		return messageRow{}, domain.InvalidField("content", "must not contain NUL characters")
	}
	if snap.ErrorMessage != nil && strings.IndexByte(*snap.ErrorMessage, 0) >= 0 {
		return messageRow{}, domain.InvalidField("error_message", "must not contain NUL characters")
	}
	metadata, err := metadataToJSON(snap.Metadata)
	if err != nil {
		return messageRow{}, err
	}
	return messageRow{
		ID: snap.ID, SessionID: snap.SessionID, UserID: snap.UserID, ParentID: snap.ParentID, Role: string(snap.Role),
		Content: snap.Content, LLMProvider: string(snap.Provider), LLMModel: snap.Model,
		ResponseTimeMs: snap.ResponseTimeMs, TokensUsed: snap.TokensUsed, ErrorMessage: snap.ErrorMessage,
		Status: string(snap.Status), MessageMetadata: metadata,
		CreatedAt: dbTime(snap.CreatedAt), UpdatedAt: dbTime(snap.UpdatedAt),
	}, nil
}

func messageToDomain(r messageRow) (*domain.ChatMessage, error) {
	metadata := map[string]any{}
	if r.MessageMetadata != "{}" { // most messages: skip the decoder
		if err := json.Unmarshal([]byte(r.MessageMetadata), &metadata); err != nil {
			return nil, fmt.Errorf("message %s: decode metadata: %w", r.ID, err)
		}
	}
	return domain.RehydrateMessage(domain.MessageSnapshot{
		ID: r.ID, SessionID: r.SessionID, UserID: r.UserID, ParentID: r.ParentID, Role: domain.MessageRole(r.Role),
		Content: r.Content, Provider: domain.Provider(r.LLMProvider), Model: r.LLMModel,
		ResponseTimeMs: r.ResponseTimeMs, TokensUsed: r.TokensUsed, ErrorMessage: r.ErrorMessage,
		Status: domain.MessageStatus(r.Status), Metadata: metadata,
		CreatedAt: domainTime(r.CreatedAt), UpdatedAt: domainTime(r.UpdatedAt),
	}), nil
}

// metadataToJSON refuses NUL anywhere in the metadata: PostgreSQL's jsonb
// rejects \u0000 while SQLite would keep it, and both dialects must answer
// the same (the domain already refuses NUL in every text field).
func metadataToJSON(md map[string]any) (string, error) {
	if md == nil {
		return "{}", nil
	}
	if hasNUL(md) {
		return "", domain.InvalidField("message_metadata", "must not contain NUL characters")
	}
	b, err := json.Marshal(md)
	if err != nil {
		return "", fmt.Errorf("encode metadata: %w", err)
	}
	return string(b), nil
}

func hasNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.IndexByte(v, 0) >= 0
	case map[string]any:
		for k, e := range v {
			if strings.IndexByte(k, 0) >= 0 || hasNUL(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if hasNUL(e) {
				return true
			}
		}
	}
	return false
}

func refreshTokenToRow(t domain.RefreshToken) refreshTokenRow {
	return refreshTokenRow{
		ID: t.ID, FamilyID: t.FamilyID, UserID: t.UserID, TokenHash: t.TokenHash, ExpiresAt: dbTime(t.ExpiresAt),
		UsedAt: dbTimePtr(t.UsedAt), RevokedAt: dbTimePtr(t.RevokedAt), CreatedAt: dbTime(t.CreatedAt),
	}
}

func refreshTokenToDomain(r refreshTokenRow) domain.RefreshToken {
	return domain.RefreshToken{
		ID: r.ID, FamilyID: r.FamilyID, UserID: r.UserID, TokenHash: r.TokenHash, ExpiresAt: domainTime(r.ExpiresAt),
		UsedAt: domainTimePtr(r.UsedAt), RevokedAt: domainTimePtr(r.RevokedAt), CreatedAt: domainTime(r.CreatedAt),
	}
}

func idempotencyToRow(r domain.IdempotencyRecord) idempotencyRow {
	return idempotencyRow{
		UserID: r.UserID, Key: r.Key, RequestHash: r.RequestHash, UserMessageID: r.UserMessageID,
		AssistantMessageID: r.AssistantMessageID, CreatedAt: dbTime(r.CreatedAt),
	}
}

func idempotencyToDomain(r idempotencyRow) domain.IdempotencyRecord {
	return domain.IdempotencyRecord{
		UserID: r.UserID, Key: r.Key, RequestHash: r.RequestHash, UserMessageID: r.UserMessageID,
		AssistantMessageID: r.AssistantMessageID, CreatedAt: domainTime(r.CreatedAt),
	}
}
