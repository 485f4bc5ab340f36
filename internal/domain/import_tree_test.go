package domain

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var importT0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

func importTarget() ImportTarget {
	n := 0
	return ImportTarget{
		OwnerID: "00000000-0000-4000-8000-00000000000a", Provider: ProviderLocal, Model: "llama3.2",
		MaxChars: 50, Now: importT0.Add(time.Hour),
		NewID: func() string { n++; return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) },
	}
}

func importNode(id, parent, role, content string, minute int) ImportedNode {
	return ImportedNode{SourceID: id, SourceParentID: parent, Role: role, Content: content,
		CreatedAt: importT0.Add(time.Duration(minute) * time.Minute)}
}

// shape renders the built tree as "content<-parentContent" per message, in
// the order Build returns them, and names the current message.
func importShape(t *testing.T, s ImportedSession) (string, string) {
	t.Helper()
	byID := map[string]*ChatMessage{}
	var parts []string
	for _, m := range s.Messages {
		byID[m.ID()] = m
		parent := "-"
		if p := m.ParentID(); p != nil {
			pm, ok := byID[*p]
			if !ok {
				t.Fatalf("message %q comes before its parent", m.Content())
			}
			parent = pm.Content()
		}
		parts = append(parts, m.Content()+"<-"+parent)
	}
	cur := s.Session.CurrentMessageID()
	if cur == nil || byID[*cur] == nil {
		t.Fatalf("current message %v is not one of the messages", cur)
	}
	return strings.Join(parts, " "), byID[*cur].Content()
}

func TestImportDropsHiddenAndReattaches(t *testing.T) {
	c := ImportedConversation{
		Source: "chatgpt", Title: "  Trip  ", CurrentSourceID: "tool",
		Nodes: []ImportedNode{
			importNode("root", "", "system", "", 0), // the null root: empty
			{SourceID: "sys", SourceParentID: "root", Role: "system", Content: "hidden prompt", Hidden: true},
			importNode("u1", "sys", "user", "hi", 1),
			importNode("a1", "u1", "assistant", "hello", 2),
			importNode("u2", "a1", "user", "edit one", 3),
			importNode("u2b", "a1", "user", "edit two", 4), // an edit: a sibling
			importNode("a2b", "u2b", "assistant", "answer two", 5),
			importNode("tool", "a2b", "tool", "tool output", 6),
			importNode("orphan", "nowhere", "user", "lost parent", 7),
		},
	}
	s, err := c.Build(importTarget())
	if err != nil {
		t.Fatal(err)
	}
	got, cur := importShape(t, s)
	want := "hi<-- lost parent<-- hello<-hi edit one<-hello edit two<-hello answer two<-edit two"
	if got != want {
		t.Fatalf("tree\n got %s\nwant %s", got, want)
	}
	// The current node (a tool message) was dropped: its nearest kept ancestor.
	if cur != "answer two" {
		t.Fatalf("current = %q", cur)
	}
	snap := s.Session.Snapshot()
	if snap.Title != "Trip" || snap.MessageCount != 6 || !snap.LastMessageAt.Equal(importT0.Add(7*time.Minute)) {
		t.Fatalf("session %+v", snap)
	}
	if !snap.CreatedAt.Equal(importT0.Add(time.Minute)) {
		t.Fatalf("created at %v, want the oldest message's time", snap.CreatedAt)
	}
	for _, m := range s.Messages {
		if m.Status() != StatusCompleted || m.UserID() != importTarget().OwnerID || m.Model() != "llama3.2" {
			t.Fatalf("message %+v", m.Snapshot())
		}
		note, _ := m.Metadata()["import"].(map[string]any)
		if note["source"] != "chatgpt" || note["source_id"] == "" {
			t.Fatalf("metadata %v", m.Metadata())
		}
	}
}

func TestImportCurrentDefaultsToNewestLeaf(t *testing.T) {
	c := ImportedConversation{Source: "librechat", Nodes: []ImportedNode{
		importNode("a", "", "user", "q", 0),
		importNode("b", "a", "assistant", "old answer", 1),
		importNode("c", "a", "assistant", "new answer", 9),
		importNode("d", "b", "user", "follow up", 5),
	}}
	s, err := c.Build(importTarget())
	if err != nil {
		t.Fatal(err)
	}
	if _, cur := importShape(t, s); cur != "new answer" {
		t.Fatalf("current = %q", cur)
	}
	// A current id that names nothing falls back the same way.
	c.CurrentSourceID = "missing"
	for i := range c.Nodes {
		c.Nodes[i].Content = []string{"q", "old answer", "new answer", "follow up"}[i]
	}
	s, err = c.Build(importTarget())
	if err != nil {
		t.Fatal(err)
	}
	if _, cur := importShape(t, s); cur != "new answer" {
		t.Fatalf("current = %q", cur)
	}
}

func TestImportSkips(t *testing.T) {
	for name, c := range map[string]ImportedConversation{
		"cycle": {Nodes: []ImportedNode{
			importNode("a", "c", "user", "a", 0), importNode("b", "a", "assistant", "b", 1), importNode("c", "b", "user", "c", 2),
		}},
		"self parent":  {Nodes: []ImportedNode{importNode("a", "a", "user", "a", 0)}},
		"nothing left": {Nodes: []ImportedNode{importNode("a", "", "tool", "x", 0), importNode("b", "a", "user", "  ", 1)}},
		"no nodes":     {},
		"duplicate id": {Nodes: []ImportedNode{importNode("a", "", "user", "x", 0), importNode("a", "", "user", "y", 1)}},
		"unreadable":   {Unreadable: "mapping is not an object", Nodes: []ImportedNode{importNode("a", "", "user", "x", 0)}},
		"bad settings": {Settings: Settings{Temperature: new(9.0)}, Nodes: []ImportedNode{importNode("a", "", "user", "x", 0)}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.Build(importTarget())
			de, ok := AsError(err)
			if !ok || de.Code != "import-skipped" || de.Detail == "" {
				t.Fatalf("err = %v, want an import-skipped reason", err)
			}
		})
	}
}

func TestImportCleansText(t *testing.T) {
	long := strings.Repeat("é", 60)
	c := ImportedConversation{Source: ImportSourceChatd, Title: strings.Repeat("t", 250) + "\x00", Nodes: []ImportedNode{
		{SourceID: "a", Role: "user", Content: "a\x00b", Metadata: map[string]any{"k\x00": []any{"v\x00"}}},
		{SourceID: "b", SourceParentID: "a", Role: "assistant", Content: long, Status: StatusStreaming,
			Provider: ProviderOpenRouter, Model: "openai/gpt-4o", TokensUsed: new(12)},
	}}
	s, err := c.Build(importTarget())
	if err != nil {
		t.Fatal(err)
	}
	if n := len([]rune(s.Session.Title())); n != MaxTitleChars {
		t.Fatalf("title has %d characters", n)
	}
	first, reply := s.Messages[0], s.Messages[1]
	if first.Content() != "ab" || fmt.Sprint(first.Metadata()) != "map[k:[v]]" {
		t.Fatalf("first %q %v", first.Content(), first.Metadata())
	}
	if len([]rune(reply.Content())) != 50 || reply.Metadata()["import"].(map[string]any)["truncated_from_chars"] != 60 {
		t.Fatalf("reply %q %v", reply.Content(), reply.Metadata())
	}
	// chatd's own format keeps each message's model and tokens; a reply
	// that was still generating is stored interrupted.
	if reply.Status() != StatusInterrupted || reply.Provider() != ProviderOpenRouter ||
		reply.Model() != "openai/gpt-4o" || *reply.TokensUsed() != 12 {
		t.Fatalf("reply %+v", reply.Snapshot())
	}
	// Times missing from the source: the conversation's creation (here the import time).
	if !first.CreatedAt().Equal(importT0.Add(time.Hour)) || !reply.CreatedAt().Equal(first.CreatedAt()) {
		t.Fatalf("times %v %v", first.CreatedAt(), reply.CreatedAt())
	}
}

func TestImportLongChain(t *testing.T) {
	nodes := make([]ImportedNode, 20000)
	for i := range 20000 {
		parent := ""
		if i > 0 {
			parent = fmt.Sprint(i - 1)
		}
		// Reverse file order: children before parents must still work.
		nodes[len(nodes)-1-i] = importNode(fmt.Sprint(i), parent, "user", "m", i)
	}
	c := ImportedConversation{Nodes: nodes}
	s, err := c.Build(importTarget())
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Messages) != 20000 || s.Messages[0].ParentID() != nil || *s.Messages[19999].ParentID() != s.Messages[19998].ID() {
		t.Fatal("chain not kept in parent-first order")
	}
	if *s.Session.CurrentMessageID() != s.Messages[19999].ID() {
		t.Fatal("current is not the leaf")
	}
}
