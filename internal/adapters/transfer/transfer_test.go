package transfer_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/chatd/chatd/internal/adapters/transfer"
	"github.com/chatd/chatd/internal/domain"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func target() domain.ImportTarget {
	n := 0
	return domain.ImportTarget{OwnerID: "00000000-0000-4000-8000-0000000000aa", Provider: domain.ProviderLocal,
		Model: "llama3.2", MaxChars: domain.DefaultMaxMessageChars, Now: t0,
		NewID: func() string { n++; return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }}
}

// built is a conversation after the domain's rules, rendered for comparison.
type built struct {
	title   string
	tree    string // "content<-parent content" per message, parents first
	current string
	omitted map[string]int // content -> omitted parts
	skip    string
	msgs    []*domain.ChatMessage
}

func build(t *testing.T, c domain.ImportedConversation) built {
	t.Helper()
	s, err := c.Build(target())
	if err != nil {
		de, ok := domain.AsError(err)
		if !ok || de.Code != "import-skipped" {
			t.Fatalf("build: %v", err)
		}
		return built{skip: de.Detail}
	}
	byID := map[string]*domain.ChatMessage{}
	var parts []string
	out := built{title: s.Session.Title(), omitted: map[string]int{}, msgs: s.Messages}
	for _, m := range s.Messages {
		byID[m.ID()] = m
		parent := "-"
		if p := m.ParentID(); p != nil {
			parent = byID[*p].Content()
		}
		parts = append(parts, m.Content()+"<-"+parent)
		if note, ok := m.Metadata()["import"].(map[string]any); ok {
			if n, ok := note["omitted_parts"].(int); ok {
				out.omitted[m.Content()] = n
			}
		}
	}
	out.tree = strings.Join(parts, " | ")
	out.current = byID[*s.Session.CurrentMessageID()].Content()
	return out
}

func decodeFile(t *testing.T, name string) []domain.ImportedConversation {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	// One byte at a time: the decoder must not depend on reads being whole.
	convs, err := transfer.Decode(iotest.OneByteReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return convs
}

func TestChatGPT(t *testing.T) {
	convs := decodeFile(t, "chatgpt.json")
	if len(convs) != 4 {
		t.Fatalf("%d conversations", len(convs))
	}
	trip := build(t, convs[0])
	// The null root, the hidden system node and the hidden custom
	// instructions are dropped; u1 becomes a first message. The tool output
	// is dropped and the final answer re-attached to the code cell.
	want := "Plan a day in Lisbon from this map<-- | Start at Belém, then Alfama.<-Plan a day in Lisbon from this map | " +
		"How far is Sintra?<-Start at Belém, then Alfama. | How far is Cascais? Compute it.<-Start at Belém, then Alfama. | " +
		"About 40 minutes by train.<-How far is Sintra? | print(30 / 60)<-How far is Cascais? Compute it. | " +
		"Half an hour.<-print(30 / 60)"
	if trip.title != "Trip to Lisbon" || trip.tree != want {
		t.Fatalf("trip\n got %s\nwant %s", trip.tree, want)
	}
	if trip.current != "Half an hour." {
		t.Fatalf("current = %q", trip.current)
	}
	if trip.omitted["Plan a day in Lisbon from this map"] != 1 {
		t.Fatalf("omitted = %v", trip.omitted)
	}
	for _, m := range trip.msgs {
		note := m.Metadata()["import"].(map[string]any)
		if note["source"] != "chatgpt" {
			t.Fatalf("metadata %v", m.Metadata())
		}
	}
	if got := trip.msgs[0].CreatedAt(); !got.Equal(time.Unix(1740823201, 0)) {
		t.Fatalf("first message time %v", got)
	}

	if loop := build(t, convs[1]); !strings.Contains(loop.skip, "cycle") {
		t.Fatalf("cycle: %+v", loop)
	}
	gone := build(t, convs[2])
	if gone.current != "New answer" || !strings.Contains(gone.tree, "Parent lost<--") {
		t.Fatalf("missing current node: %+v", gone)
	}
	if hidden := build(t, convs[3]); !strings.Contains(hidden.skip, "no message to import") {
		t.Fatalf("only hidden: %+v", hidden)
	}
}

func TestOpenWebUI(t *testing.T) {
	convs := decodeFile(t, "openwebui.json")
	if len(convs) != 3 {
		t.Fatalf("%d conversations", len(convs))
	}
	haiku := build(t, convs[0])
	want := "Write a haiku about rain<-- | Rain on the tin roof<-Write a haiku about rain | " +
		"Soft rain, quiet street<-Write a haiku about rain | Another?<-Soft rain, quiet street"
	if haiku.title != "Haiku" || haiku.tree != want {
		t.Fatalf("haiku\n got %s\nwant %s", haiku.tree, want)
	}
	// currentId names the older branch: it stays current.
	if haiku.current != "Rain on the tin roof" {
		t.Fatalf("current = %q", haiku.current)
	}
	if haiku.omitted["Write a haiku about rain"] != 1 || haiku.omitted["Another?"] != 1 {
		t.Fatalf("omitted = %v", haiku.omitted)
	}
	flat := build(t, convs[1])
	// The empty reply is dropped; the next one follows the user message.
	if flat.tree != "Answer in French<-- | Hello<-Answer in French | Bonjour<-Hello" || flat.current != "Bonjour" {
		t.Fatalf("flat: %+v", flat)
	}
	if unknown := build(t, convs[2]); unknown.skip != "not a conversation of a known format" {
		t.Fatalf("unknown element: %+v", unknown)
	}
}

func TestLibreChat(t *testing.T) {
	nested := decodeFile(t, "librechat_nested.json")
	if len(nested) != 1 {
		t.Fatalf("%d conversations", len(nested))
	}
	got := build(t, nested[0])
	want := "A quick pasta?<-- | Aglio e olio.<-A quick pasta? | Cacio e pepe.<-A quick pasta? | Thanks!<-Cacio e pepe."
	if got.tree != want || got.current != "Thanks!" || got.omitted["Thanks!"] != 1 {
		t.Fatalf("nested\n got %+v\nwant %s", got, want)
	}
	roles := ""
	for _, m := range got.msgs {
		roles += string(m.Role())[:1]
	}
	if roles != "uaau" {
		t.Fatalf("roles %s", roles)
	}

	flat := build(t, decodeFile(t, "librechat_flat.json")[0])
	want = "What is 2+2?<-- | orphan<-- | 4<-What is 2+2? | And 3+3?<-4 | 6<-And 3+3?"
	if flat.tree != want || flat.current != "6" || flat.omitted["4"] != 2 {
		t.Fatalf("flat\n got %+v\nwant %s", flat, want)
	}
	if flat.msgs[0].Role() != domain.RoleUser || flat.msgs[2].Role() != domain.RoleAssistant {
		t.Fatal("roles from sender")
	}
}

func TestDecodeErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		body    string
		invalid bool // 422, else malformed (400)
	}{
		"empty":             {body: "", invalid: false},
		"not json":          {body: "hello", invalid: false},
		"truncated":         {body: `[{"mapping": {`, invalid: false},
		"two values":        {body: `{"format":"chatd.v1","sessions":[{"messages":[]}]} {}`, invalid: false},
		"string":            {body: `"x"`, invalid: true},
		"unknown object":    {body: `{"a": 1}`, invalid: true},
		"unknown array":     {body: `[{"a": 1}]`, invalid: true},
		"empty array":       {body: `[]`, invalid: true},
		"other format":      {body: `{"format": "chatd.v9", "sessions": []}`, invalid: true},
		"v1 without list":   {body: `{"format": "chatd.v1"}`, invalid: true},
		"array of numbers":  {body: `[1, 2]`, invalid: true},
		"sessions not list": {body: `{"sessions": {"a": [1]}, "x": 1}`, invalid: true},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := transfer.Decode(strings.NewReader(tc.body))
			var mal *transfer.MalformedError
			de, isDomain := domain.AsError(err)
			switch {
			case tc.invalid && (!isDomain || de.Code != "unknown-import-format" || !strings.Contains(de.Detail, "ChatGPT")):
				t.Fatalf("want unknown-import-format naming the formats, got %v", err)
			case !tc.invalid && !errors.As(err, &mal):
				t.Fatalf("want MalformedError, got %v", err)
			}
		})
	}
	// A reader error (the body limit) passes through as it is.
	boom := errors.New("boom")
	if _, err := transfer.Decode(iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Fatalf("reader error = %v", err)
	}
}

func TestChatdRoundTrip(t *testing.T) {
	// A branched session built by an import, written as chatd.v1, read back.
	src := build(t, decodeFile(t, "chatgpt.json")[0])
	s, err := decodeFile(t, "chatgpt.json")[0].Build(target())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := transfer.NewWriter(&buf, t0)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := w.BeginSession(s.Session); err != nil {
			t.Fatal(err)
		}
		for _, m := range s.Messages {
			if err := w.Message(m); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.EndSession(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), `{"format":"chatd.v1","exported_at":"2025-03-01T12:00:00.000Z","sessions":[{"title":"Trip to Lisbon",`) {
		t.Fatalf("document starts %.200s", buf.String())
	}
	convs, err := transfer.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(convs) != 2 {
		t.Fatalf("%d sessions", len(convs))
	}
	again := build(t, convs[1])
	if again.tree != src.tree || again.current != src.current || again.title != src.title {
		t.Fatalf("round trip\n got %+v\nwant %+v", again, src)
	}
	for i, m := range again.msgs {
		if m.Role() != src.msgs[i].Role() || !m.CreatedAt().Equal(src.msgs[i].CreatedAt().Truncate(time.Millisecond)) {
			t.Fatalf("message %d: %+v vs %+v", i, m.Snapshot(), src.msgs[i].Snapshot())
		}
	}
}

func TestMarkdown(t *testing.T) {
	s, err := decodeFile(t, "chatgpt.json")[0].Build(target())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := transfer.WriteMarkdown(&buf, s.Session, s.Messages[:2], t0); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	for _, want := range []string{"# Trip to Lisbon\n", "### User · 2025-03-01 10:00 UTC\n\nPlan a day in Lisbon from this map\n",
		"### Assistant (llama3.2) · 2025-03-01 10:00 UTC\n\nStart at Belém"} {
		if !strings.Contains(md, want) {
			t.Fatalf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestOddShapes(t *testing.T) {
	for name, tc := range map[string]struct {
		body string
		skip string // part of the reason, or "" when it imports
		tree string
	}{
		"chatgpt mapping of the wrong type": {body: `[{"mapping": {"a": 1}}]`, skip: "not a valid chatgpt conversation"},
		"open webui empty history, flat list": {body: `{"chat": {"history": {"messages": {}, "currentId": null},
			"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}}`, tree: "hi<-- | yo<-hi"},
		"open webui history not an object": {body: `{"chat": {"history": {"messages": [1]}}}`, skip: "not a valid openwebui conversation"},
		"librechat single message, no ids": {body: `{"conversationId": "c", "messages": [{"sender": "User", "text": "alone",
			"children": [{"sender": "Bot", "text": "reply"}]}]}`, tree: "alone<-- | reply<-alone"},
		"chatd session of the wrong type": {body: `{"format": "chatd.v1", "sessions": [42]}`, skip: "not a valid chatd.v1 conversation"},
	} {
		t.Run(name, func(t *testing.T) {
			convs, err := transfer.Decode(strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			got := build(t, convs[0])
			if tc.skip != "" && !strings.Contains(got.skip, tc.skip) || tc.skip == "" && got.tree != tc.tree {
				t.Fatalf("got %+v", got)
			}
		})
	}
}
