package domain

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestErrorsCarryTheirKindThroughWrapping(t *testing.T) {
	base := NotFound("session")
	if base.Code != "session-not-found" || base.Kind != ErrNotFound || base.Error() != "not-found: session-not-found: session not found" {
		t.Fatalf("NotFound = %+v %q", base, base.Error())
	}
	wrapped := fmt.Errorf("load session: %w", base)
	if !IsKind(wrapped, ErrNotFound) || KindOf(errors.New("plain")) != 0 {
		t.Fatal("kinds do not survive wrapping")
	}
	cause := errors.New("dial tcp: refused")
	u := Unavailable("storage-unavailable", "the database is not answering", cause)
	if !errors.Is(u, cause) || !strings.HasSuffix(u.Error(), ": dial tcp: refused") {
		t.Fatalf("Unavailable does not wrap its cause: %v", u)
	}
	r := RateLimited("slow-down", "later", 3*time.Second)
	if r.RetryAfter != 3*time.Second {
		t.Fatal("RetryAfter lost")
	}
	f := InvalidField("title", "must not be empty")
	if f.Code != "invalid-field" || len(f.Fields) != 1 || f.Fields[0] != (FieldError{Field: "title", Message: "must not be empty"}) ||
		f.Detail != "title must not be empty" {
		t.Fatalf("InvalidField = %+v", f)
	}
	for k := ErrInvalid; k <= ErrUnavailable; k++ {
		if k.String() == "unknown" {
			t.Errorf("kind %d has no name", k)
		}
	}
	if ErrorKind(0).String() != "unknown" {
		t.Error("the zero kind has a name")
	}
}

func TestParticipantRoles(t *testing.T) {
	for _, role := range []ParticipantRole{ParticipantOwner, ParticipantMember} {
		if err := (Participant{Role: role}).MayPost(); err != nil {
			t.Errorf("%s may not post: %v", role, err)
		}
	}
	if err := (Participant{Role: ParticipantViewer}).MayPost(); !IsKind(err, ErrForbidden) {
		t.Errorf("viewer posts: %v", err)
	}
	if err := (Participant{Role: ParticipantOwner}).MayManage(); err != nil {
		t.Errorf("owner may not manage: %v", err)
	}
	for _, role := range []ParticipantRole{ParticipantMember, ParticipantViewer, ""} {
		if err := (Participant{Role: role}).MayManage(); !IsKind(err, ErrForbidden) {
			t.Errorf("%q manages: %v", role, err)
		}
	}
	for _, s := range []string{"member", "viewer"} {
		if r, err := ParseParticipantRole(s); err != nil || string(r) != s {
			t.Errorf("ParseParticipantRole(%q) = %q, %v", s, r, err)
		}
	}
	for _, s := range []string{"owner", "Member", "admin", ""} {
		if _, err := ParseParticipantRole(s); !IsKind(err, ErrInvalid) {
			t.Errorf("ParseParticipantRole(%q) accepted", s)
		}
	}
}

func TestProvidersAndModels(t *testing.T) {
	for _, s := range []string{"LOCAL", "OPENROUTER"} {
		if p, err := ParseProvider(s); err != nil || string(p) != s {
			t.Errorf("ParseProvider(%q) = %q, %v", s, p, err)
		}
	}
	for _, s := range []string{"local", "OpenRouter", "OPENAI", "", "LOCAL "} {
		if _, err := ParseProvider(s); !IsKind(err, ErrInvalid) {
			t.Errorf("ParseProvider(%q) accepted", s)
		}
	}
	if err := CheckModel("llm_model", strings.Repeat("é", 200)); err != nil {
		t.Errorf("200-character model refused: %v", err)
	}
	for _, m := range []string{"", strings.Repeat("m", 201), "m\x00"} {
		if err := CheckModel("llm_model", m); !IsKind(err, ErrInvalid) {
			t.Errorf("CheckModel(%q) accepted", m)
		}
	}
}

func TestRefreshTokenStates(t *testing.T) {
	used := t0
	live := RefreshToken{ExpiresAt: t0.Add(time.Hour)}
	if !live.Usable(t0) || live.IsReplay() {
		t.Fatal("a fresh token is not usable")
	}
	if live.Usable(t0.Add(time.Hour)) {
		t.Fatal("a token is usable at its expiry")
	}
	for name, tok := range map[string]RefreshToken{
		"used":    {ExpiresAt: t0.Add(time.Hour), UsedAt: &used},
		"revoked": {ExpiresAt: t0.Add(time.Hour), RevokedAt: &used},
	} {
		if tok.Usable(t0) || !tok.IsReplay() {
			t.Errorf("%s token: usable %v, replay %v", name, tok.Usable(t0), tok.IsReplay())
		}
	}
}

func TestIdempotencyKeys(t *testing.T) {
	if err := CheckIdempotencyKey(strings.Repeat("k", 255)); err != nil {
		t.Errorf("255 characters refused: %v", err)
	}
	for _, k := range []string{"", strings.Repeat("k", 256), "k\x00", "k\xff"} {
		if err := CheckIdempotencyKey(k); !IsKind(err, ErrInvalid) {
			t.Errorf("CheckIdempotencyKey(%q) accepted", k)
		}
	}
	rec := IdempotencyRecord{RequestHash: "abc"}
	if err := rec.Matches("abc"); err != nil {
		t.Fatal(err)
	}
	if err := rec.Matches("abd"); !IsKind(err, ErrConflict) {
		t.Fatalf("another request matched: %v", err)
	}
}

func TestEventsCarrySnapshots(t *testing.T) {
	m := placeholder(t)
	e := MessageEvent(EventMessageCreated, m)
	if e.SessionID != "s1" || e.Message.ID != "m2" || e.Seq != 0 {
		t.Fatalf("event %+v", e)
	}
	_ = m.Complete("later text", GenerationResult{}, t0)
	if e.Message.Content != "" || e.Message.Status != StatusPending {
		t.Fatal("an event changes with its message")
	}
	s := newSession(t, "t")
	se := SessionChanged(EventSessionUpdated, s)
	s.SetTitleIfEmpty("x", t0)
	if se.SessionID != "s1" || se.Session.Title != "t" {
		t.Fatalf("session event %+v", se.Session)
	}
}
