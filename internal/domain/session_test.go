package domain

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func newSession(t *testing.T, title string) *ChatSession {
	t.Helper()
	s, err := NewChatSession(NewSessionParams{
		ID: "s1", OwnerID: "u1", Title: title, Provider: ProviderLocal, Model: "llama3.2", Now: t0,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewChatSession(t *testing.T) {
	local := t0.In(time.FixedZone("X", -7*3600))
	s, err := NewChatSession(NewSessionParams{
		ID: "s1", OwnerID: "u1", Title: "  Plans  ", Provider: ProviderOpenRouter, Model: "openai/gpt-4o",
		Settings: Settings{Temperature: ptr(0.3)}, Now: local,
	})
	if err != nil {
		t.Fatal(err)
	}
	snap := s.Snapshot()
	want := SessionSnapshot{
		ID: "s1", OwnerID: "u1", Title: "Plans", Model: "openai/gpt-4o", Provider: ProviderOpenRouter,
		Settings: Settings{Temperature: ptr(0.3)}, IsActive: true, CreatedAt: t0, UpdatedAt: t0,
	}
	if !reflect.DeepEqual(snap, want) {
		t.Fatalf("snapshot\n got %+v\nwant %+v", snap, want)
	}
	if !reflect.DeepEqual(RehydrateSession(snap).Snapshot(), snap) {
		t.Fatal("a session does not survive Snapshot and Rehydrate")
	}
	for name, p := range map[string]NewSessionParams{
		"lower-case provider": {Provider: "local", Model: "m"},
		"unknown provider":    {Provider: "OPENAI", Model: "m"},
		"empty model":         {Provider: ProviderLocal},
		"long model":          {Provider: ProviderLocal, Model: strings.Repeat("m", 201)},
		"long title":          {Provider: ProviderLocal, Model: "m", Title: strings.Repeat("t", 201)},
		"bad settings":        {Provider: ProviderLocal, Model: "m", Settings: Settings{MaxTokens: ptr(0)}},
	} {
		if _, err := NewChatSession(p); !IsKind(err, ErrInvalid) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	if _, err := NewChatSession(NewSessionParams{Provider: ProviderLocal, Model: "m", Title: strings.Repeat("é", 200)}); err != nil {
		t.Errorf("200 characters of title refused: %v", err)
	}
}

// Apply changes every field of a valid patch, or none of an invalid one.
func TestSessionApplyIsAllOrNothing(t *testing.T) {
	later := t0.Add(time.Hour)
	invalid := map[string]SessionPatch{
		"valid title, bad model":    {Title: ptr("new"), Model: ptr("")},
		"valid title, bad provider": {Title: ptr("new"), Provider: ptr(Provider("nope"))},
		"valid title, bad settings": {Title: ptr("new"), Settings: &Settings{TopP: ptr(2.0)}},
		"bad title, valid inactive": {Title: ptr(strings.Repeat("t", 201)), IsActive: ptr(false)},
		"valid model, NUL in title": {Title: ptr("a\x00"), Model: ptr("other")},
	}
	for name, patch := range invalid {
		s := newSession(t, "old")
		before := s.Snapshot()
		if err := s.Apply(patch, later); !IsKind(err, ErrInvalid) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
		if !reflect.DeepEqual(s.Snapshot(), before) {
			t.Errorf("%s: a refused patch changed the session", name)
		}
	}

	s := newSession(t, "old")
	err := s.Apply(SessionPatch{
		Title: ptr("  new  "), Provider: ptr(ProviderOpenRouter), Model: ptr("x/y"),
		Settings: &Settings{MaxTokens: ptr(10)}, IsActive: ptr(false),
	}, later)
	if err != nil {
		t.Fatal(err)
	}
	snap := s.Snapshot()
	if snap.Title != "new" || snap.Provider != ProviderOpenRouter || snap.Model != "x/y" || *snap.Settings.MaxTokens != 10 ||
		snap.IsActive || !snap.UpdatedAt.Equal(later) || !snap.CreatedAt.Equal(t0) {
		t.Fatalf("applied %+v", snap)
	}
	// An empty title clears it; an empty patch only touches updated_at.
	if err := s.Apply(SessionPatch{Title: ptr("   ")}, later); err != nil || s.Title() != "" {
		t.Fatalf("clearing the title: %v, %q", err, s.Title())
	}
	before := s.Snapshot()
	if err := s.Apply(SessionPatch{}, later.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	after := s.Snapshot()
	after.UpdatedAt = before.UpdatedAt
	if !reflect.DeepEqual(after, before) {
		t.Fatal("an empty patch changed more than updated_at")
	}
}

func TestSetTitleIfEmpty(t *testing.T) {
	later := t0.Add(time.Hour)
	s := newSession(t, "")
	for _, bad := range []string{"", "   ", strings.Repeat("t", 201), "a\x00"} {
		if s.SetTitleIfEmpty(bad, later) || s.Title() != "" {
			t.Fatalf("SetTitleIfEmpty(%q) took it", bad)
		}
	}
	if !s.UpdatedAt().Equal(t0) {
		t.Fatal("a refused title touched updated_at")
	}
	if !s.SetTitleIfEmpty("  Named  ", later) || s.Title() != "Named" || !s.UpdatedAt().Equal(later) {
		t.Fatalf("title %q", s.Title())
	}
	if s.SetTitleIfEmpty("Other", later.Add(time.Hour)) || s.Title() != "Named" || !s.UpdatedAt().Equal(later) {
		t.Fatal("a title was overwritten")
	}
}
