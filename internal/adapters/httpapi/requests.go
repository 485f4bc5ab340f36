package httpapi

import (
	"bytes"
	"encoding/json"

	"github.com/chatd/chatd/internal/adapters/wire"
)

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
	// CurrentMessageID switches the branch on screen.
	CurrentMessageID *string `json:"current_message_id"`
}

type addParticipantRequest struct {
	UserID *string `json:"user_id"`
	Email  *string `json:"email"`
	Role   *string `json:"role"`
}

type sendMessageRequest struct {
	// ParentID absent follows the session's current message; null starts
	// a new first message.
	ParentID    optionalID `json:"parent_id"`
	Content     *string    `json:"content"`
	Role        *string    `json:"role"`
	ProcessLLM  *bool      `json:"process_llm"`
	LLMProvider *string    `json:"llm_provider"`
	LLMModel    *string    `json:"llm_model"`
}

type updateMessageRequest struct {
	Content         *string        `json:"content"`
	MessageMetadata map[string]any `json:"message_metadata"`
}

type regenerateRequest struct {
	LLMProvider *string        `json:"llm_provider"`
	LLMModel    *string        `json:"llm_model"`
	Settings    *wire.Settings `json:"settings"`
}

// optionalID is a field where absent, null and an id mean three things.
type optionalID struct {
	Present bool
	ID      *string
}

// UnmarshalJSON runs only when the field is present, null included.
func (o *optionalID) UnmarshalJSON(b []byte) error {
	o.Present = true
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var id string
	if err := json.Unmarshal(b, &id); err != nil {
		return err
	}
	o.ID = &id
	return nil
}
