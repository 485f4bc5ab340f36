package domain

import "time"

// GenerationResult is what a finished (or stopped) generation reports.
type GenerationResult struct {
	FinishReason       string
	ServedModel        string
	PromptTokens       int
	CompletionTokens   int
	UsageEstimated     bool
	CostUSD            *float64
	ResponseTime       time.Duration
	TimeToFirstToken   *time.Duration
	Reasoning          string
	AttemptedProviders []string
}

func (m *ChatMessage) mustBeGenerating(next MessageStatus) error {
	if m.role != RoleAssistant || m.status.IsFinal() {
		return Conflict("message-not-generating",
			"this message is not being generated (status "+string(m.status)+"), so it cannot become "+string(next))
	}
	return nil
}

// StartStreaming marks a placeholder as receiving text.
func (m *ChatMessage) StartStreaming(now time.Time) error {
	if m.status != StatusPending {
		return m.mustBeGenerating(StatusStreaming)
	}
	m.status = StatusStreaming
	m.updatedAt = now.UTC()
	return nil
}

// RecordProgress stores the text generated so far.
func (m *ChatMessage) RecordProgress(content string, now time.Time) error {
	if err := m.mustBeGenerating(StatusStreaming); err != nil {
		return err
	}
	m.content = content
	m.updatedAt = now.UTC()
	return nil
}

// Complete ends a generation the provider finished.
func (m *ChatMessage) Complete(content string, r GenerationResult, now time.Time) error {
	return m.finish(StatusCompleted, content, r, nil, now)
}

// Fail ends a generation that broke, keeping the text produced so far.
func (m *ChatMessage) Fail(content, reason string, r GenerationResult, now time.Time) error {
	return m.finish(StatusFailed, content, r, &reason, now)
}

// Cancel ends a generation a participant stopped.
func (m *ChatMessage) Cancel(content string, r GenerationResult, now time.Time) error {
	return m.finish(StatusCancelled, content, r, nil, now)
}

// Interrupt ends a generation the server stopped (shutdown, crash repair).
func (m *ChatMessage) Interrupt(content string, r GenerationResult, now time.Time) error {
	reason := InterruptedReason
	return m.finish(StatusInterrupted, content, r, &reason, now)
}

// InterruptedReason is the error_message of a reply the server stopped.
const InterruptedReason = "the server stopped before the reply was finished"

// RepairedReplyMetadata is the metadata of a reply found unfinished at
// start, left by a process that died: nothing is known of its usage.
func RepairedReplyMetadata() map[string]any {
	return GenerationResult{FinishReason: "interrupted", UsageEstimated: true}.metadata()
}

func (m *ChatMessage) finish(status MessageStatus, content string, r GenerationResult, reason *string, now time.Time) error {
	if err := m.mustBeGenerating(status); err != nil {
		return err
	}
	m.status = status
	m.content = content
	m.errorMessage = reason
	if r.ServedModel != "" {
		m.model = r.ServedModel
	}
	if total := r.PromptTokens + r.CompletionTokens; total > 0 {
		m.tokensUsed = &total
	}
	ms := int(r.ResponseTime.Milliseconds())
	m.responseTimeMs = &ms
	m.metadata = r.metadata()
	m.updatedAt = now.UTC()
	return nil
}

func (r GenerationResult) metadata() map[string]any {
	meta := map[string]any{
		"finish_reason":          r.FinishReason,
		"prompt_tokens":          r.PromptTokens,
		"completion_tokens":      r.CompletionTokens,
		"usage_estimated":        r.UsageEstimated,
		"time_to_first_token_ms": nil,
	}
	if r.TimeToFirstToken != nil {
		meta["time_to_first_token_ms"] = r.TimeToFirstToken.Milliseconds()
	}
	if r.ServedModel != "" {
		meta["model"] = r.ServedModel
	}
	if r.CostUSD != nil {
		meta["cost_usd"] = *r.CostUSD
	}
	if r.Reasoning != "" {
		meta["reasoning"] = r.Reasoning
	}
	return meta
}
