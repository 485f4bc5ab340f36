package httpapi

import "github.com/chatd/chatd/internal/adapters/wire"

// Request bodies. Pointers mark optional fields so "absent" differs from "zero".

type registerRequest struct {
	Email       string `json:"email"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name"`
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

type createSessionRequest struct {
	Title       *string        `json:"title"`
	LLMProvider *string        `json:"llm_provider"`
	LLMModel    *string        `json:"llm_model"`
	Settings    *wire.Settings `json:"settings"`
}

type updateSessionRequest struct {
	Title       *string        `json:"title"`
	LLMProvider *string        `json:"llm_provider"`
	LLMModel    *string        `json:"llm_model"`
	Settings    *wire.Settings `json:"settings"`
	IsActive    *bool          `json:"is_active"`
}

type addParticipantRequest struct {
	UserID *string `json:"user_id"`
	Email  *string `json:"email"`
	Role   *string `json:"role"`
}

type sendMessageRequest struct {
	Content     *string `json:"content"`
	Role        *string `json:"role"`
	ProcessLLM  *bool   `json:"process_llm"`
	LLMProvider *string `json:"llm_provider"`
	LLMModel    *string `json:"llm_model"`
}

type updateMessageRequest struct {
	Content         *string        `json:"content"`
	MessageMetadata map[string]any `json:"message_metadata"`
}
