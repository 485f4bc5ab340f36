package app

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

const (
	titleTimeout   = 20 * time.Second
	titleMaxTokens = 24
	titleExcerpt   = 600 // characters of each turn shown to the namer
)

const titleInstruction = "You name conversations. Reply with a title of at most six words " +
	"for the conversation below: no quotes, no trailing punctuation, nothing else."

// nameSession gives an untitled session a title from its first exchange. A
// failure leaves the title empty and touches nothing else.
func (g *Generator) nameSession(r *run, reply domain.MessageSnapshot) {
	ctx, cancel := context.WithTimeout(g.root, titleTimeout)
	defer cancel()
	question := ""
	if reply.ParentID != nil {
		if m, err := g.messages.Get(ctx, *reply.ParentID); err == nil {
			question = m.Content()
		}
	}
	model := r.job.model
	if g.cfg.TitleModel != "" {
		model = g.cfg.TitleModel
	}
	maxTokens := titleMaxTokens
	raw, err := g.model.Complete(ctx, ports.CompletionRequest{
		Provider: r.job.provider, Model: model, MaxTokens: &maxTokens,
		Messages: []ports.PromptMessage{
			{Role: domain.RoleSystem, Content: titleInstruction},
			{Role: domain.RoleUser, Content: "User: " + excerpt(question) + "\nAssistant: " + excerpt(reply.Content)},
		},
	})
	if err != nil {
		g.log.Info("could not name session", "session_id", reply.SessionID, "error", err)
		return
	}
	title := cleanTitle(raw)
	if title == "" {
		return
	}
	var changed bool
	s, err := g.sessions.Update(ctx, reply.SessionID, func(s *domain.ChatSession) error {
		changed = s.SetTitleIfEmpty(title, g.clock.Now())
		return nil
	})
	if err != nil || !changed {
		return
	}
	g.announce.Publish(ctx, domain.SessionChanged(domain.EventSessionUpdated, s))
}

func excerpt(s string) string {
	if utf8.RuneCountInString(s) <= titleExcerpt {
		return s
	}
	return string([]rune(s)[:titleExcerpt]) + "…"
}

// cleanTitle keeps the first line of a model's answer, without quotes or
// trailing punctuation, within the title limit.
func cleanTitle(raw string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(raw), "\n")
	line = strings.Trim(strings.TrimSpace(line), `"'“”‘’*#`)
	line = strings.TrimRight(strings.TrimSpace(line), ".!?:;,")
	if utf8.RuneCountInString(line) > domain.MaxTitleChars {
		line = string([]rune(line)[:domain.MaxTitleChars])
	}
	return strings.TrimSpace(line)
}
