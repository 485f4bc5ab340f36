package httpapi

import (
	"time"

	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
)

// timestamp renders RFC 3339 in UTC with milliseconds, as the contract fixes.
type timestamp time.Time

func (t timestamp) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format("2006-01-02T15:04:05.000Z") + `"`), nil
}

func optionalTimestamp(t *time.Time) *timestamp {
	if t == nil {
		return nil
	}
	ts := timestamp(*t)
	return &ts
}

type userResponse struct {
	ID          string    `json:"id"`
	Email       string    `json:"email"`
	DisplayName string    `json:"display_name"`
	Role        string    `json:"role"`
	CreatedAt   timestamp `json:"created_at"`
}

func toUserResponse(u *domain.User) userResponse {
	return userResponse{ID: u.ID(), Email: u.Email(), DisplayName: u.DisplayName(), Role: string(u.Role()),
		CreatedAt: timestamp(u.CreatedAt())}
}

type authResponse struct {
	User         userResponse `json:"user"`
	AccessToken  string       `json:"access_token"`
	RefreshToken string       `json:"refresh_token"`
	TokenType    string       `json:"token_type"`
	ExpiresIn    int          `json:"expires_in"`
}

func toAuthResponse(r app.AuthResult) authResponse {
	return authResponse{User: toUserResponse(r.User), AccessToken: r.AccessToken, RefreshToken: r.RefreshToken,
		TokenType: "bearer", ExpiresIn: int(r.ExpiresIn.Seconds())}
}

type settingsBody struct {
	SystemPrompt       *string  `json:"system_prompt,omitempty"`
	Temperature        *float64 `json:"temperature,omitempty"`
	TopP               *float64 `json:"top_p,omitempty"`
	MaxTokens          *int     `json:"max_tokens,omitempty"`
	MaxContextMessages *int     `json:"max_context_messages,omitempty"`
	Stop               []string `json:"stop,omitempty"`
	FallbackModels     []string `json:"fallback_models,omitempty"`
}

func toSettingsBody(s domain.Settings) settingsBody {
	return settingsBody{SystemPrompt: s.SystemPrompt, Temperature: s.Temperature, TopP: s.TopP, MaxTokens: s.MaxTokens,
		MaxContextMessages: s.MaxContextMessages, Stop: s.Stop, FallbackModels: s.FallbackModels}
}

func (b settingsBody) toDomain() domain.Settings {
	return domain.Settings{SystemPrompt: b.SystemPrompt, Temperature: b.Temperature, TopP: b.TopP, MaxTokens: b.MaxTokens,
		MaxContextMessages: b.MaxContextMessages, Stop: b.Stop, FallbackModels: b.FallbackModels}
}

type sessionResponse struct {
	ID            string       `json:"id"`
	UserID        string       `json:"user_id"`
	Title         string       `json:"title"`
	LLMProvider   string       `json:"llm_provider"`
	LLMModel      string       `json:"llm_model"`
	Settings      settingsBody `json:"settings"`
	IsActive      bool         `json:"is_active"`
	CreatedAt     timestamp    `json:"created_at"`
	UpdatedAt     timestamp    `json:"updated_at"`
	MessageCount  int          `json:"message_count"`
	LastMessageAt *timestamp   `json:"last_message_at"`
}

func toSessionResponse(s *domain.ChatSession) sessionResponse {
	return sessionResponse{ID: s.ID(), UserID: s.OwnerID(), Title: s.Title(), LLMProvider: string(s.Provider()),
		LLMModel: s.Model(), Settings: toSettingsBody(s.Settings()), IsActive: s.IsActive(),
		CreatedAt: timestamp(s.CreatedAt()), UpdatedAt: timestamp(s.UpdatedAt()), MessageCount: s.MessageCount(),
		LastMessageAt: optionalTimestamp(s.LastMessageAt())}
}

type pagination struct {
	Page       int  `json:"page"`
	PageSize   int  `json:"page_size"`
	TotalCount int  `json:"total_count"`
	HasMore    bool `json:"has_more"`
}

type sessionListResponse struct {
	Sessions []sessionResponse `json:"sessions"`
	pagination
}

type participantResponse struct {
	SessionID   string    `json:"session_id"`
	UserID      string    `json:"user_id"`
	Role        string    `json:"role"`
	CreatedAt   timestamp `json:"created_at"`
	Email       string    `json:"email"`
	DisplayName string    `json:"display_name"`
}

func toParticipantResponse(p app.ParticipantView) participantResponse {
	return participantResponse{SessionID: p.SessionID, UserID: p.UserID, Role: string(p.Role),
		CreatedAt: timestamp(p.CreatedAt), Email: p.User.Email(), DisplayName: p.User.DisplayName()}
}

type participantListResponse struct {
	Participants []participantResponse `json:"participants"`
}

type messageResponse struct {
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
	CreatedAt       timestamp      `json:"created_at"`
	UpdatedAt       timestamp      `json:"updated_at"`
}

func toMessageResponse(m *domain.ChatMessage) messageResponse {
	s := m.Snapshot()
	meta := s.Metadata
	if meta == nil {
		meta = map[string]any{}
	}
	return messageResponse{ID: s.ID, SessionID: s.SessionID, UserID: s.UserID, ParentID: s.ParentID,
		Role: string(s.Role), Content: s.Content, LLMProvider: string(s.Provider), LLMModel: s.Model,
		ResponseTimeMs: s.ResponseTimeMs, TokensUsed: s.TokensUsed, ErrorMessage: s.ErrorMessage,
		IsStreaming: m.IsStreaming(), Status: string(s.Status), MessageMetadata: meta,
		CreatedAt: timestamp(s.CreatedAt), UpdatedAt: timestamp(s.UpdatedAt)}
}

func toOptionalMessage(m *domain.ChatMessage) *messageResponse {
	if m == nil {
		return nil
	}
	r := toMessageResponse(m)
	return &r
}

type messageListResponse struct {
	Messages []messageResponse `json:"messages"`
	pagination
}

type sendMessageResponse struct {
	UserMessage      messageResponse  `json:"user_message"`
	AssistantMessage *messageResponse `json:"assistant_message"`
}

type modelStatsResponse struct {
	LLMProvider       string  `json:"llm_provider"`
	LLMModel          string  `json:"llm_model"`
	Messages          int     `json:"messages"`
	Tokens            int     `json:"tokens"`
	AvgResponseTimeMs float64 `json:"avg_response_time_ms"`
}

type statsResponse struct {
	TotalSessions     int                  `json:"total_sessions"`
	ActiveSessions    int                  `json:"active_sessions"`
	TotalMessages     int                  `json:"total_messages"`
	MessagesByRole    map[string]int       `json:"messages_by_role"`
	TotalTokens       int                  `json:"total_tokens"`
	AvgResponseTimeMs float64              `json:"avg_response_time_ms"`
	ByModel           []modelStatsResponse `json:"by_model"`
	ActiveConnections int                  `json:"active_connections"`
}

func toStatsResponse(s domain.Stats, activeConnections int) statsResponse {
	byRole := map[string]int{"user": 0, "assistant": 0, "system": 0}
	for role, n := range s.MessagesByRole {
		byRole[string(role)] = n
	}
	byModel := make([]modelStatsResponse, 0, len(s.ByModel))
	for _, m := range s.ByModel {
		byModel = append(byModel, modelStatsResponse{LLMProvider: string(m.Provider), LLMModel: m.Model,
			Messages: m.Messages, Tokens: m.Tokens, AvgResponseTimeMs: m.AvgResponseTimeMs})
	}
	return statsResponse{TotalSessions: s.TotalSessions, ActiveSessions: s.ActiveSessions, TotalMessages: s.TotalMessages,
		MessagesByRole: byRole, TotalTokens: s.TotalTokens, AvgResponseTimeMs: s.AvgResponseTimeMs, ByModel: byModel,
		ActiveConnections: activeConnections}
}
