package storage

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/lib/pq"

	"github.com/chatd/chatd/internal/domain"
)

// The settings column is a stored format: its keys must not drift.
func TestSettingsJSONKeys(t *testing.T) {
	p, temp, topP, maxTok, maxCtx := "be brief", 0.5, 1.0, 10, 20
	for _, c := range []struct {
		in   domain.Settings
		want string
	}{
		{domain.Settings{}, `{}`},
		{domain.Settings{Stop: []string{}, FallbackModels: []string{}}, `{"stop":[],"fallback_models":[]}`},
		{
			domain.Settings{SystemPrompt: &p, Temperature: &temp, TopP: &topP, MaxTokens: &maxTok, MaxContextMessages: &maxCtx, Stop: []string{"x"}, FallbackModels: []string{"m"}},
			`{"system_prompt":"be brief","temperature":0.5,"top_p":1,"max_tokens":10,"max_context_messages":20,"stop":["x"],"fallback_models":["m"]}`,
		},
	} {
		got, err := settingsToJSON(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Fatalf("settingsToJSON = %s, want %s", got, c.want)
		}
	}
}

func TestWrapClassifies(t *testing.T) {
	notFound := domain.NotFound("session")
	for _, c := range []struct {
		err  error
		kind domain.ErrorKind
	}{
		{notFound, domain.ErrNotFound},
		{context.DeadlineExceeded, domain.ErrUnavailable},
		{errors.New("dial tcp 127.0.0.1:5432: connect: connection refused"), domain.ErrUnavailable},
		{&pq.Error{Code: "57P01"}, domain.ErrUnavailable}, // admin shutdown
		{&pq.Error{Code: "53100"}, domain.ErrUnavailable}, // disk full
		{&pq.Error{Code: "08006"}, domain.ErrUnavailable}, // connection failure
		{&pq.Error{Code: "23514"}, 0},                     // check violation: a bug, answers 500
		{&pq.Error{Code: "42P01"}, 0},                     // undefined table: a bug
		{fmt.Errorf("scan: %w", &pq.Error{Code: "22P02"}), 0},
	} {
		got := wrap("op", c.err)
		if domain.KindOf(got) != c.kind {
			t.Errorf("wrap(%v) kind = %v, want %v", c.err, domain.KindOf(got), c.kind)
		}
		if !errors.Is(got, c.err) {
			t.Errorf("wrap(%v) lost the cause", c.err)
		}
	}
	if wrap("op", nil) != nil {
		t.Fatal("wrap(nil) != nil")
	}
}
