package httpapi

import (
	"github.com/chatd/chatd/internal/adapters/wire"
	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
)

type userResponse struct {
	ID          string         `json:"id"`
	Email       string         `json:"email"`
	DisplayName string         `json:"display_name"`
	Role        string         `json:"role"`
	CreatedAt   wire.Timestamp `json:"created_at"`
}

func toUserResponse(u *domain.User) userResponse {
	return userResponse{ID: u.ID(), Email: u.Email(), DisplayName: u.DisplayName(), Role: string(u.Role()),
		CreatedAt: wire.Timestamp(u.CreatedAt())}
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

type pagination struct {
	Page       int  `json:"page"`
	PageSize   int  `json:"page_size"`
	TotalCount int  `json:"total_count"`
	HasMore    bool `json:"has_more"`
}

type sessionListResponse struct {
	Sessions []wire.Session `json:"sessions"`
	pagination
}

type participantResponse struct {
	SessionID   string         `json:"session_id"`
	UserID      string         `json:"user_id"`
	Role        string         `json:"role"`
	CreatedAt   wire.Timestamp `json:"created_at"`
	Email       string         `json:"email"`
	DisplayName string         `json:"display_name"`
}

func toParticipantResponse(p app.ParticipantView) participantResponse {
	return participantResponse{SessionID: p.SessionID, UserID: p.UserID, Role: string(p.Role),
		CreatedAt: wire.Timestamp(p.CreatedAt), Email: p.User.Email(), DisplayName: p.User.DisplayName()}
}

type participantListResponse struct {
	Participants []participantResponse `json:"participants"`
}

type messageListResponse struct {
	Messages []wire.Message `json:"messages"`
	pagination
}

type sendMessageResponse struct {
	UserMessage      wire.Message  `json:"user_message"`
	AssistantMessage *wire.Message `json:"assistant_message"`
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
