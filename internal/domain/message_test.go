package domain

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func placeholder(t *testing.T) *ChatMessage {
	t.Helper()
	parent := "m1"
	m, err := NewReplyPlaceholder("m2", "s1", "u1", &parent, ProviderLocal, "llama3.2", t0)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNewPostedMessage(t *testing.T) {
	s := newSession(t, "t")
	m, err := NewPostedMessage("m1", "s1", "u1", nil, RoleSystem, "be brief", 10, s, t0)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status() != StatusCompleted || m.Role() != RoleSystem || m.Provider() != ProviderLocal ||
		m.Model() != "llama3.2" || m.Metadata() == nil || len(m.Metadata()) != 0 || m.IsStreaming() {
		t.Fatalf("posted %+v", m.Snapshot())
	}
	for name, tc := range map[string]struct {
		role    MessageRole
		content string
	}{
		"assistant":     {RoleAssistant, "x"},
		"unknown role":  {"tool", "x"},
		"empty":         {RoleUser, ""},
		"too long":      {RoleUser, strings.Repeat("é", 11)},
		"NUL":           {RoleUser, "\x00"},
		"invalid UTF-8": {RoleUser, "\xed\xa0\x80"}, // an encoded surrogate
	} {
		if _, err := NewPostedMessage("m", "s1", "u1", nil, tc.role, tc.content, 10, s, t0); !IsKind(err, ErrInvalid) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	if _, err := NewPostedMessage("m", "s1", "u1", nil, RoleUser, strings.Repeat("é", 10), 10, s, t0); err != nil {
		t.Errorf("10 characters with a limit of 10: %v", err)
	}
	if r, err := ParsePostedRole("assistant"); err == nil {
		t.Errorf("ParsePostedRole(assistant) = %q", r)
	}
}

// finals lists every way a generation ends.
var finals = map[MessageStatus]func(m *ChatMessage, content string, now time.Time) error{
	StatusCompleted: func(m *ChatMessage, c string, now time.Time) error {
		return m.Complete(c, GenerationResult{FinishReason: "stop"}, now)
	},
	StatusFailed: func(m *ChatMessage, c string, now time.Time) error {
		return m.Fail(c, "the model failed", GenerationResult{}, now)
	},
	StatusCancelled: func(m *ChatMessage, c string, now time.Time) error {
		return m.Cancel(c, GenerationResult{}, now)
	},
	StatusInterrupted: func(m *ChatMessage, c string, now time.Time) error {
		return m.Interrupt(c, GenerationResult{}, now)
	},
}

func TestMessageStatusTransitions(t *testing.T) {
	later := t0.Add(time.Second)
	for status, end := range finals {
		for _, from := range []MessageStatus{StatusPending, StatusStreaming} {
			t.Run(string(from)+" to "+string(status), func(t *testing.T) {
				m := placeholder(t)
				if from == StatusStreaming {
					if err := m.StartStreaming(t0); err != nil || !m.IsStreaming() {
						t.Fatalf("start streaming: %v", err)
					}
					if err := m.RecordProgress("so far", t0); err != nil || m.Content() != "so far" {
						t.Fatalf("progress: %v", err)
					}
				}
				if err := end(m, "all of it", later); err != nil {
					t.Fatal(err)
				}
				if m.Status() != status || m.Content() != "all of it" || !m.UpdatedAt().Equal(later) || !m.Status().IsFinal() {
					t.Fatalf("ended as %+v", m.Snapshot())
				}
				wantReason := status == StatusFailed || status == StatusInterrupted
				if (m.ErrorMessage() != nil) != wantReason {
					t.Fatalf("error message %v for %s", m.ErrorMessage(), status)
				}

				// A final message is immutable.
				frozen := m.Snapshot()
				for next, again := range finals {
					if err := again(m, "rewritten", later.Add(time.Hour)); !isNotGenerating(err) {
						t.Errorf("%s after %s: %v, want conflict message-not-generating", next, status, err)
					}
				}
				if err := m.StartStreaming(later.Add(time.Hour)); !isNotGenerating(err) {
					t.Errorf("start streaming after %s: %v", status, err)
				}
				if err := m.RecordProgress("rewritten", later.Add(time.Hour)); !isNotGenerating(err) {
					t.Errorf("progress after %s: %v", status, err)
				}
				if !reflect.DeepEqual(m.Snapshot(), frozen) {
					t.Fatalf("a refused change altered the final message")
				}
			})
		}
	}
}

func isNotGenerating(err error) bool {
	de, ok := AsError(err)
	return ok && de.Kind == ErrConflict && de.Code == "message-not-generating"
}

// A user or system message never generates: no generation verb applies.
func TestPostedMessagesNeverGenerate(t *testing.T) {
	s := newSession(t, "t")
	for _, role := range []MessageRole{RoleUser, RoleSystem} {
		m, err := NewPostedMessage("m1", "s1", "u1", nil, role, "hi", 100, s, t0)
		if err != nil {
			t.Fatal(err)
		}
		for status, end := range finals {
			if err := end(m, "x", t0); !isNotGenerating(err) {
				t.Errorf("%s message to %s: %v", role, status, err)
			}
		}
		if err := m.RecordProgress("x", t0); !isNotGenerating(err) {
			t.Errorf("%s message progress: %v", role, err)
		}
		// A rehydrated user message stuck in pending (bad data) still is no reply.
		snap := m.Snapshot()
		snap.Status = StatusPending
		if err := RehydrateMessage(snap).Complete("x", GenerationResult{}, t0); !isNotGenerating(err) {
			t.Errorf("pending %s message completed: %v", role, err)
		}
	}
}

func TestStartStreamingIsIdempotentWhileGenerating(t *testing.T) {
	m := placeholder(t)
	if err := m.StartStreaming(t0); err != nil {
		t.Fatal(err)
	}
	if err := m.StartStreaming(t0.Add(time.Second)); err != nil || !m.IsStreaming() || !m.UpdatedAt().Equal(t0) {
		t.Fatalf("second StartStreaming: %v, updated %v", err, m.UpdatedAt())
	}
}

// The end of a generation records what the provider reported.
func TestFinishRecordsTheResult(t *testing.T) {
	ttft := 250 * time.Millisecond
	cost := 0.0125
	m := placeholder(t)
	err := m.Complete("answer", GenerationResult{
		FinishReason: "stop", ServedModel: "llama3.2:8b", PromptTokens: 10, CompletionTokens: 5, UsageEstimated: true,
		CostUSD: &cost, ResponseTime: 1500 * time.Millisecond, TimeToFirstToken: &ttft, Reasoning: "because",
	}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if m.Model() != "llama3.2:8b" || *m.TokensUsed() != 15 || *m.ResponseTimeMs() != 1500 {
		t.Fatalf("ended %+v", m.Snapshot())
	}
	want := map[string]any{
		"finish_reason": "stop", "prompt_tokens": 10, "completion_tokens": 5, "usage_estimated": true,
		"time_to_first_token_ms": int64(250), "model": "llama3.2:8b", "cost_usd": 0.0125, "reasoning": "because",
	}
	if !reflect.DeepEqual(m.Metadata(), want) {
		t.Fatalf("metadata\n got %#v\nwant %#v", m.Metadata(), want)
	}

	// With nothing reported: the fixed keys only, the model kept, no tokens.
	m = placeholder(t)
	if err := m.Fail("", "broke", GenerationResult{}, t0); err != nil {
		t.Fatal(err)
	}
	want = map[string]any{
		"finish_reason": "", "prompt_tokens": 0, "completion_tokens": 0, "usage_estimated": false,
		"time_to_first_token_ms": nil,
	}
	if !reflect.DeepEqual(m.Metadata(), want) || m.Model() != "llama3.2" || m.TokensUsed() != nil ||
		*m.ResponseTimeMs() != 0 || *m.ErrorMessage() != "broke" {
		t.Fatalf("ended %+v", m.Snapshot())
	}
}

func TestEditRules(t *testing.T) {
	s := newSession(t, "t")
	later := t0.Add(time.Minute)
	mine, err := NewPostedMessage("m1", "s1", "author", nil, RoleUser, "hello", 10, s, t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := mine.Edit("someone-else", MessageEdit{Content: ptr("hijack")}, 10, later); !isForbiddenEdit(err) {
		t.Fatalf("another user's edit: %v", err)
	}
	if err := mine.Edit("author", MessageEdit{Content: ptr(strings.Repeat("x", 11))}, 10, later); !IsKind(err, ErrInvalid) {
		t.Fatalf("too long an edit: %v", err)
	}
	if mine.Content() != "hello" || !mine.UpdatedAt().Equal(t0) {
		t.Fatal("a refused edit changed the message")
	}
	if err := mine.Edit("author", MessageEdit{Metadata: map[string]any{"pinned": true}}, 10, later); err != nil {
		t.Fatal(err)
	}
	if mine.Content() != "hello" || mine.Metadata()["pinned"] != true || !mine.UpdatedAt().Equal(later) {
		t.Fatalf("metadata-only edit: %+v", mine.Snapshot())
	}
	if err := mine.Edit("author", MessageEdit{Content: ptr("hi")}, 10, later); err != nil || mine.Content() != "hi" || mine.Metadata()["pinned"] != true {
		t.Fatalf("content-only edit: %v %+v", err, mine.Snapshot())
	}

	system, _ := NewPostedMessage("m2", "s1", "author", nil, RoleSystem, "rules", 10, s, t0)
	if err := system.Edit("author", MessageEdit{Content: ptr("new rules")}, 10, later); !isForbiddenEdit(err) {
		t.Fatalf("editing a system message: %v", err)
	}
	reply := placeholder(t)
	if err := reply.Edit("u1", MessageEdit{Content: ptr("better")}, 10, later); !isForbiddenEdit(err) {
		t.Fatalf("editing a reply, as its requester: %v", err)
	}
}

func isForbiddenEdit(err error) bool {
	de, ok := AsError(err)
	return ok && de.Kind == ErrForbidden && de.Code == "not-message-author"
}

// Snapshots are copies: changing one does not reach the message.
func TestMessageSnapshotIsACopy(t *testing.T) {
	m := placeholder(t)
	if err := m.Complete("x", GenerationResult{FinishReason: "stop"}, t0); err != nil {
		t.Fatal(err)
	}
	snap := m.Snapshot()
	snap.Metadata["finish_reason"] = "tampered"
	if m.Metadata()["finish_reason"] != "stop" {
		t.Fatal("a snapshot shares the metadata map")
	}
	if RehydrateMessage(MessageSnapshot{}).Metadata() == nil {
		t.Fatal("rehydrated metadata is nil")
	}
}

func TestFinalEventOf(t *testing.T) {
	for status, want := range map[MessageStatus]EventType{
		StatusCompleted:   EventMessageCompleted,
		StatusCancelled:   EventMessageCancelled,
		StatusFailed:      EventMessageFailed,
		StatusInterrupted: EventMessageFailed,
	} {
		if got := FinalEventOf(status); got != want {
			t.Errorf("FinalEventOf(%s) = %s, want %s", status, got, want)
		}
	}
}

// A reply repaired at start says what a drained one says.
func TestRepairedReplyMetadata(t *testing.T) {
	m := placeholder(t)
	if err := m.Interrupt("x", GenerationResult{FinishReason: "interrupted", UsageEstimated: true}, t0); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(RepairedReplyMetadata(), m.Metadata()) || *m.ErrorMessage() != InterruptedReason {
		t.Fatalf("repaired %v, drained %v", RepairedReplyMetadata(), m.Metadata())
	}
}
