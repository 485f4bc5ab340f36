package app_test

import (
	"testing"
	"time"

	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// A page is read from storage once per session seq: reads in between are
// served from memory, an announced change (a new seq) or pageTTL reads
// storage again.
func TestListMessagesKeepsPagesUntilTheSessionChanges(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")
	post := func(content string) {
		t.Helper()
		_, err := e.send.Handle(e.ctx, owner, app.SendMessageCmd{SessionID: s.ID(), Content: content, Role: domain.RoleUser})
		must(t, err)
	}
	list := func() []app.ListedMessage {
		t.Helper()
		page, err := e.list.Handle(e.ctx, owner, s.ID(), ports.MessageQuery{Page: ports.Page{Number: 1, Size: 50}})
		must(t, err)
		return page.Messages
	}
	post("one")
	reads := func() int { return e.store.Calls("messages.List") }

	if n := len(list()); n != 1 {
		t.Fatalf("%d messages, want 1", n)
	}
	before := reads()
	list()
	if reads() != before {
		t.Fatal("a second read at the same seq went to storage")
	}
	post("two") // stored, then announced: a new seq
	if n := len(list()); n != 2 {
		t.Fatalf("after a post, %d messages listed, want 2", n)
	}
	before = reads()
	e.clock.Advance(3 * time.Second)
	list()
	if reads() == before {
		t.Fatal("a page older than its TTL was served from memory")
	}
	// A stranger is refused even when the page is in memory.
	stranger := e.user("stranger")
	if _, err := e.list.Handle(e.ctx, stranger, s.ID(), ports.MessageQuery{Page: ports.Page{Number: 1, Size: 50}}); !domain.IsKind(err, domain.ErrNotFound) {
		t.Fatalf("a stranger read the page: %v", err)
	}
}
