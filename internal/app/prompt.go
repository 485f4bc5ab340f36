package app

import (
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// buildPrompt assembles what the model sees: the system prompt, then the
// newest history that fits the message budget. history is oldest first and
// ends with the turn being answered, which is therefore always kept.
func buildPrompt(settings domain.Settings, history []*domain.ChatMessage, maxMessages int) []ports.PromptMessage {
	var turns []ports.PromptMessage
	for _, m := range history {
		if !inContext(m) {
			continue
		}
		turns = append(turns, ports.PromptMessage{Role: m.Role(), Content: m.Content()})
	}
	if maxMessages > 0 && len(turns) > maxMessages {
		turns = turns[len(turns)-maxMessages:]
	}
	if settings.SystemPrompt != nil && *settings.SystemPrompt != "" {
		turns = append([]ports.PromptMessage{{Role: domain.RoleSystem, Content: *settings.SystemPrompt}}, turns...)
	}
	return turns
}

// inContext keeps user and system turns, and replies that were finished or
// at least produced text; empty placeholders and failures without text would
// only confuse the model.
func inContext(m *domain.ChatMessage) bool {
	if m.Role() != domain.RoleAssistant {
		return true
	}
	return m.Status() == domain.StatusCompleted || (m.Status().IsFinal() && m.Content() != "")
}

// completionRequest turns a session's settings into a provider request,
// bounded by the server's max_tokens ceiling.
func completionRequest(provider domain.Provider, model string, s domain.Settings, prompt []ports.PromptMessage, ceiling int) ports.CompletionRequest {
	req := ports.CompletionRequest{
		Provider: provider, Model: model, FallbackModels: s.FallbackModels, Messages: prompt,
		Temperature: s.Temperature, TopP: s.TopP, MaxTokens: s.MaxTokens, Stop: s.Stop,
	}
	if ceiling > 0 && (req.MaxTokens == nil || *req.MaxTokens > ceiling) {
		req.MaxTokens = &ceiling
	}
	return req
}
