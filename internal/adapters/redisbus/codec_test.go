package redisbus

import (
	"reflect"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/domain"
)

func ptr[T any](v T) *T { return &v }

// everyPayload holds one event of each payload kind, every field set.
// Metadata holds only what JSON gives back as it was: strings, float64,
// bools, nested objects and arrays (an int would come back a float64).
func everyPayload() map[string]domain.SessionEvent {
	at := time.Date(2026, 12, 3, 10, 4, 5, 123456789, time.UTC)
	return map[string]domain.SessionEvent{
		"message": {Type: domain.EventMessageCompleted, SessionID: "s1", Message: &domain.MessageSnapshot{
			ID: "m1", SessionID: "s1", UserID: "u1", ParentID: ptr("m0"), Role: domain.RoleAssistant,
			Content: "hello \"world\" \u00e9\n", Provider: domain.ProviderLocal, Model: "llama",
			ResponseTimeMs: ptr(1234), TokensUsed: ptr(56), ErrorMessage: ptr("partial"),
			Status: domain.StatusCompleted, CreatedAt: at, UpdatedAt: at.Add(time.Second),
			Metadata: map[string]any{
				"finish_reason": "stop", "temperature": 0.7, "cached": true,
				"usage": map[string]any{"prompt": 12.0, "completion": 44.0}, "stops": []any{"a", "b"},
			},
		}},
		"delta": {Type: domain.EventMessageDelta, SessionID: "s1",
			Delta: &domain.MessageDelta{MessageID: "m1", Delta: " tok", Index: 41}},
		"session": {Type: domain.EventSessionUpdated, SessionID: "s1", Session: &domain.SessionSnapshot{
			ID: "s1", OwnerID: "u1", Title: "t", Model: "llama", Provider: domain.ProviderLocal,
			Settings: domain.Settings{SystemPrompt: ptr("be brief"), Temperature: ptr(0.2), TopP: ptr(0.9),
				MaxTokens: ptr(100), MaxContextMessages: ptr(20), Stop: []string{"\n\n"}, FallbackModels: []string{"b"}},
			IsActive: true, CreatedAt: at, UpdatedAt: at, MessageCount: 3, LastMessageAt: ptr(at),
			CurrentMessageID: ptr("m1"),
		}},
		"typing":   {Type: domain.EventTyping, SessionID: "s1", Typing: &domain.TypingSignal{UserID: "u1", IsTyping: true}},
		"presence": {Type: domain.EventPresence, SessionID: "s1", Presence: &domain.PresenceSignal{UserID: "u2", Online: true}},
		"removed": {Type: domain.EventParticipantRemoved, SessionID: "s1",
			Removed: &domain.RemovedParticipant{UserID: "u3"}},
		"deleted": {Type: domain.EventMessageDeleted, SessionID: "s1",
			Deleted: &domain.DeletedMessages{MessageID: "m1", DeletedIDs: []string{"m1", "m2"}}},
	}
}

func TestEveryPayloadSurvivesTheCodec(t *testing.T) {
	for name, e := range everyPayload() {
		t.Run(name, func(t *testing.T) {
			e.Seq = 0
			body, err := encodeEvent(e)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeEvent(string(body), 77)
			if err != nil {
				t.Fatal(err)
			}
			want := e
			want.Seq = 77
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip changed the event:\n got %+v\nwant %+v\nwire %s", got, want, body)
			}
		})
	}
}

// A field added to domain.SessionEvent must be added to wireEvent too, or
// it would be lost on the way through Redis.
func TestWireEventMirrorsSessionEvent(t *testing.T) {
	domainType, wireType := reflect.TypeFor[domain.SessionEvent](), reflect.TypeFor[wireEvent]()
	for i := range domainType.NumField() {
		f := domainType.Field(i)
		if f.Name == "Seq" {
			continue // carried by the frame and the stream entry's id
		}
		w, ok := wireType.FieldByName(f.Name)
		if !ok || w.Type != f.Type {
			t.Errorf("wireEvent lacks %s %s", f.Name, f.Type)
		}
	}
	if wireType.NumField() != domainType.NumField()-1 {
		t.Errorf("wireEvent has %d fields for the %d of SessionEvent", wireType.NumField(), domainType.NumField())
	}
}

func TestEmptyPayloadsStayOffTheWire(t *testing.T) {
	body, err := encodeEvent(delta("s1", 3))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"type":"message.delta","session_id":"s1","delta":{"MessageID":"m","Delta":"token","Index":3}}`; string(body) != want {
		t.Fatalf("wire form %s, want %s", body, want)
	}
}

func TestAPayloadJSONCannotHoldIsAnError(t *testing.T) {
	e := domain.SessionEvent{Type: domain.EventMessageUpdated, SessionID: "s",
		Message: &domain.MessageSnapshot{Metadata: map[string]any{"bad": make(chan int)}}}
	if _, err := encodeEvent(e); err == nil {
		t.Fatal("a channel in the metadata was encoded")
	}
	if _, err := decodeEvent("{not json", 1); err == nil {
		t.Fatal("malformed JSON was decoded")
	}
}

func TestFrames(t *testing.T) {
	for payload, want := range map[string]frame{
		"e42 {}":       {kind: frameEvent, seq: 42, body: "{}"},
		"f1796 {\"a\"": {kind: frameFirst, seq: 1796, body: "{\"a\""},
		"s {} x":       {kind: frameSignal, body: "{} x"},
	} {
		if got, err := parseFrame(payload); err != nil || got != want {
			t.Errorf("parseFrame(%q) = %+v, %v; want %+v", payload, got, err, want)
		}
	}
	for _, bad := range []string{"", "e", "e {}", "e0 {}", "e-3 {}", "ex {}", "s1 {}", "x1 {}", " {}", "e42{}"} {
		if got, err := parseFrame(bad); err == nil {
			t.Errorf("parseFrame(%q) = %+v, want an error", bad, got)
		}
	}
	if got, err := parseFrame(string(signalFrame([]byte("{}")))); err != nil || got.kind != frameSignal || got.body != "{}" {
		t.Fatalf("signal frame: %+v %v", got, err)
	}
}

func TestStreamEntries(t *testing.T) {
	got, err := parseEntries([]any{
		[]any{"10-0", []any{"e", "{}", "f", "1"}},
		[]any{"11-0", []any{"e", "{\"x\":1}"}},
	})
	want := []streamEntry{{seq: 10, first: true, body: "{}"}, {seq: 11, body: "{\"x\":1}"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("parseEntries: %+v %v", got, err)
	}
	for _, bad := range []any{
		"nope",
		[]any{"10-0"},
		[]any{[]any{"x-0", []any{"e", "{}"}}},
		[]any{[]any{"10-0", "e"}},
		[]any{[]any{"10-0", []any{"f", "1"}}},
	} {
		if _, err := parseEntries(bad); err == nil {
			t.Errorf("parseEntries(%v) succeeded", bad)
		}
	}
}

func TestCovers(t *testing.T) {
	run := func(first bool, from, to int64) []streamEntry {
		var out []streamEntry
		for s := from; s <= to; s++ {
			out = append(out, streamEntry{seq: s, first: first && s == from, body: "{}"})
		}
		return out
	}
	for name, tc := range map[string]struct {
		after, last int64
		entries     []streamEntry
		want        bool
	}{
		"every event after":             {5, 8, run(false, 6, 8), true},
		"the first one missing":         {5, 8, run(false, 7, 8), false},
		"the last one missing":          {5, 8, run(false, 6, 7), false},
		"a hole":                        {5, 8, append(run(false, 6, 6), run(false, 8, 8)...), false},
		"nothing":                       {5, 8, nil, false},
		"from 0, the counter's first":   {0, 1003, run(true, 1001, 1003), true},
		"from 0, the first was trimmed": {0, 1003, run(false, 1002, 1003), false},
		"from 0, a hole after it":       {0, 1003, append(run(true, 1001, 1001), run(false, 1003, 1003)...), false},
	} {
		if got := covers(tc.after, tc.last, tc.entries); got != tc.want {
			t.Errorf("%s: covers = %v", name, got)
		}
	}
}

func TestResumeFromRejectsMalformedReplies(t *testing.T) {
	for _, reply := range [][]any{nil, {"12"}, {int64(12), "not entries"}} {
		if res, err := resumeFrom(3, reply); err == nil {
			t.Errorf("resumeFrom(%v) = %+v", reply, res)
		}
	}
}

func TestKeys(t *testing.T) {
	k := newKeys("chatd")
	ch := k.channel("0b7c")
	if ch != "chatd:s:{0b7c}" || k.seq(ch) != "chatd:s:{0b7c}:seq" || k.stream(ch) != "chatd:s:{0b7c}:ev" || k.control != "chatd:control" {
		t.Fatalf("names: %s %s %s %s", ch, k.seq(ch), k.stream(ch), k.control)
	}
	if id, ok := k.sessionOf(ch); !ok || id != "0b7c" {
		t.Fatalf("sessionOf(%s) = %q %v", ch, id, ok)
	}
	for _, other := range []string{"chatd:control", "other:s:{0b7c}", "chatd:s:0b7c"} {
		if id, ok := k.sessionOf(other); ok {
			t.Errorf("sessionOf(%s) = %q", other, id)
		}
	}
}
