package httpapi

import (
	"bytes"
	"encoding/json"

	"github.com/chatd/chatd/internal/adapters/wire"
	"github.com/chatd/chatd/internal/domain"
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

// replyOverrideRequest is what a request that starts a reply may change
// for that reply only; regenerate's whole body.
type replyOverrideRequest struct {
	LLMProvider *string        `json:"llm_provider"`
	LLMModel    *string        `json:"llm_model"`
	Settings    *wire.Settings `json:"settings"`
}

type regenerateRequest = replyOverrideRequest

type replyOverrides struct {
	provider *domain.Provider
	model    *string
	settings *domain.Settings
}

// overrides checks the provider and model and reads the settings.
func (r replyOverrideRequest) overrides() (replyOverrides, error) {
	o := replyOverrides{model: r.LLMModel}
	if r.LLMProvider != nil {
		p, err := domain.ParseProvider(*r.LLMProvider)
		if err != nil {
			return replyOverrides{}, err
		}
		o.provider = &p
	}
	if r.LLMModel != nil {
		if err := domain.CheckModel("llm_model", *r.LLMModel); err != nil {
			return replyOverrides{}, err
		}
	}
	if r.Settings != nil {
		s := r.Settings.ToDomain()
		o.settings = &s
	}
	return o, nil
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
