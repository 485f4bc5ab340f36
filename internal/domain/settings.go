package domain

import "fmt"

// Settings tune generation for one session. Nil means "provider default".
type Settings struct {
	SystemPrompt       *string
	Temperature        *float64
	TopP               *float64
	MaxTokens          *int
	MaxContextMessages *int
	Stop               []string
	FallbackModels     []string
}

const (
	maxSystemPromptChars = 32000
	maxStopSequences     = 4
	maxStopChars         = 100
	maxFallbackModels    = 5
	maxContextMessages   = 1000
)

// Validate returns one FieldError per invalid setting, or nil.
func (s Settings) Validate() error {
	var fields []FieldError
	add := func(field, msg string) { fields = append(fields, FieldError{Field: "settings." + field, Message: msg}) }

	if s.SystemPrompt != nil {
		if err := checkText("system_prompt", *s.SystemPrompt, 0, maxSystemPromptChars); err != nil {
			add("system_prompt", err.Fields[0].Message)
		}
	}
	if s.Temperature != nil && !(*s.Temperature >= 0 && *s.Temperature <= 2) { // also refuses NaN
		add("temperature", "must be between 0 and 2")
	}
	if s.TopP != nil && !(*s.TopP > 0 && *s.TopP <= 1) { // also refuses NaN
		add("top_p", "must be greater than 0 and at most 1")
	}
	if s.MaxTokens != nil && *s.MaxTokens < 1 {
		add("max_tokens", "must be at least 1")
	}
	if s.MaxContextMessages != nil && (*s.MaxContextMessages < 1 || *s.MaxContextMessages > maxContextMessages) {
		add("max_context_messages", fmt.Sprintf("must be between 1 and %d", maxContextMessages))
	}
	if len(s.Stop) > maxStopSequences {
		add("stop", fmt.Sprintf("must hold at most %d sequences", maxStopSequences))
	}
	for i, stop := range s.Stop {
		if err := checkText("stop", stop, 1, maxStopChars); err != nil {
			add(fmt.Sprintf("stop[%d]", i), err.Fields[0].Message)
		}
	}
	if len(s.FallbackModels) > maxFallbackModels {
		add("fallback_models", fmt.Sprintf("must hold at most %d models", maxFallbackModels))
	}
	for i, m := range s.FallbackModels {
		if err := checkText("fallback_models", m, 1, maxModelChars); err != nil {
			add(fmt.Sprintf("fallback_models[%d]", i), err.Fields[0].Message)
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return Invalid("invalid-settings", "settings are invalid", fields...)
}
