package storagetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/adapters/storage"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// importConversation builds a branched conversation the way the import use
// case does: u1 -> a1 -> {u2, u2b -> a2b}, current a2b.
func (f *fixture) importConversation(t *testing.T, owner *domain.User, title string, extra int) domain.ImportedSession {
	t.Helper()
	at := f.tick(time.Minute)
	n := func(id, parent, role, content string, minutes int) domain.ImportedNode {
		return domain.ImportedNode{SourceID: id, SourceParentID: parent, Role: role, Content: content,
			CreatedAt: at.Add(time.Duration(minutes) * time.Minute)}
	}
	c := domain.ImportedConversation{Source: "chatgpt", Title: title, CurrentSourceID: "a2b", Nodes: []domain.ImportedNode{
		n("u1", "", "user", "hi", 0), n("a1", "u1", "assistant", "hello", 1),
		n("u2", "a1", "user", "edit one", 2), n("u2b", "a1", "user", "edit two", 3), n("a2b", "u2b", "assistant", "answer", 4),
	}}
	for i := range extra {
		parent := "a2b"
		if i > 0 {
			parent = fmt.Sprint("x", i-1)
		}
		c.Nodes = append(c.Nodes, n(fmt.Sprint("x", i), parent, []string{"user", "assistant"}[i%2], fmt.Sprint("more ", i), 5+i))
	}
	if extra > 0 {
		c.CurrentSourceID = ""
	}
	s, err := c.Build(domain.ImportTarget{OwnerID: owner.ID(), Provider: domain.ProviderLocal, Model: "llama3.2",
		MaxChars: domain.DefaultMaxMessageChars, Now: f.now, NewID: newID})
	must(t, err)
	return s
}

// exported reads back what the export reader walks: owned sessions and
// each one's messages.
func exported(t *testing.T, f *fixture, owner *domain.User) (map[string]*domain.ChatSession, map[string][]*domain.ChatMessage, []string) {
	t.Helper()
	export := storage.NewExportRepo(f.db)
	sessions := map[string]*domain.ChatSession{}
	messages := map[string][]*domain.ChatMessage{}
	var order []string
	must(t, export.OwnedSessions(f.ctx, owner.ID(), func(s *domain.ChatSession) error {
		sessions[s.ID()] = s
		order = append(order, s.ID())
		// Messages read while the sessions are walked, as the streamed export does.
		return export.SessionMessages(f.ctx, s.ID(), func(m *domain.ChatMessage) error {
			messages[s.ID()] = append(messages[s.ID()], m)
			return nil
		})
	}))
	return sessions, messages, order
}

var transferTests = map[string]func(t *testing.T, f *fixture){
	"import stores sessions, owners, messages, counters and current message": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		imp := storage.NewImportRepo(f.db)
		first, second := f.importConversation(t, owner, "first", 0), f.importConversation(t, owner, "second", 0)
		must(t, imp.Import(f.ctx, []domain.ImportedSession{first, second}, nil))

		sessions, messages, order := exported(t, f, owner)
		equal(t, "sessions oldest first", order, []string{first.Session.ID(), second.Session.ID()})
		for _, want := range []domain.ImportedSession{first, second} {
			got := sessions[want.Session.ID()]
			equal(t, "session", got.Snapshot(), storedSession(want.Session.Snapshot()))
			equal(t, "current message", *got.CurrentMessageID(), want.Messages[4].ID())
			equal(t, "message count", got.MessageCount(), 5)
			var gotMsgs, wantMsgs []domain.MessageSnapshot
			for _, m := range messages[want.Session.ID()] {
				gotMsgs = append(gotMsgs, m.Snapshot())
			}
			for _, m := range want.Messages {
				wantMsgs = append(wantMsgs, stored(m.Snapshot()))
			}
			equal(t, "messages in time order, every branch", gotMsgs, wantMsgs)
			p, err := f.sessions.Participant(f.ctx, want.Session.ID(), owner.ID())
			must(t, err)
			equal(t, "owner participant", p.Role, domain.ParticipantOwner)
			// The ordinary repositories see it as a session like any other.
			s, err := f.sessions.Get(f.ctx, want.Session.ID())
			must(t, err)
			equal(t, "last message at", s.LastMessageAt(), msPtr(*want.Session.LastMessageAt()))
		}
	},
	"a large import is stored whole": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		big := f.importConversation(t, owner, "big", 2000)
		must(t, storage.NewImportRepo(f.db).Import(f.ctx, []domain.ImportedSession{big}, nil))
		sessions, messages, _ := exported(t, f, owner)
		equal(t, "messages", len(messages[big.Session.ID()]), 2005)
		equal(t, "count", sessions[big.Session.ID()].MessageCount(), 2005)
		equal(t, "current is the newest leaf", *sessions[big.Session.ID()].CurrentMessageID(), big.Messages[2004].ID())
	},
	"import is all or nothing": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		ghost := domain.RehydrateUser(newID(), "ghost@example.com", "Ghost", "h", domain.UserRoleUser, f.now)
		good, bad := f.importConversation(t, owner, "good", 0), f.importConversation(t, ghost, "bad", 0)
		key := &ports.ImportKey{UserID: owner.ID(), Key: "k", RequestHash: "h", CreatedAt: f.now}
		err := storage.NewImportRepo(f.db).Import(f.ctx, []domain.ImportedSession{good, bad}, key)
		wantErr(t, err, domain.ErrNotFound, "user-not-found")
		_, err = f.sessions.Get(f.ctx, good.Session.ID())
		wantErr(t, err, domain.ErrNotFound, "session-not-found")
		_, err = f.messages.Get(f.ctx, good.Messages[0].ID())
		wantErr(t, err, domain.ErrNotFound, "message-not-found")
		_, err = storage.NewImportRepo(f.db).ImportKey(f.ctx, owner.ID(), "k")
		wantErr(t, err, domain.ErrNotFound, "idempotency-key-not-found")
	},
	"import key round trip; a used key is a conflict and stores nothing": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		imp := storage.NewImportRepo(f.db)
		first := f.importConversation(t, owner, "first", 0)
		key := ports.ImportKey{UserID: owner.ID(), Key: "key-Ω", RequestHash: "h1", CreatedAt: f.now,
			Result: ports.ImportResult{
				Sessions: []ports.ImportedSummary{{ID: first.Session.ID(), Title: "first", MessageCount: 5}},
				Skipped:  []ports.ImportSkip{{Index: 1, Reason: "a cycle"}},
			}}
		must(t, imp.Import(f.ctx, []domain.ImportedSession{first}, &key))
		got, err := imp.ImportKey(f.ctx, owner.ID(), "key-Ω")
		must(t, err)
		key.CreatedAt = ms(key.CreatedAt)
		equal(t, "key", got, key)

		second := f.importConversation(t, owner, "second", 0)
		again := ports.ImportKey{UserID: owner.ID(), Key: "key-Ω", RequestHash: "h2", CreatedAt: f.now}
		err = imp.Import(f.ctx, []domain.ImportedSession{second}, &again)
		wantErr(t, err, domain.ErrConflict, "idempotency-key-exists")
		_, err = f.sessions.Get(f.ctx, second.Session.ID())
		wantErr(t, err, domain.ErrNotFound, "session-not-found")

		// Keys are per user.
		other := f.user(t, "other@example.com")
		_, err = imp.ImportKey(f.ctx, other.ID(), "key-Ω")
		wantErr(t, err, domain.ErrNotFound, "idempotency-key-not-found")
		// Without anything to store, the key alone is still kept.
		empty := ports.ImportKey{UserID: other.ID(), Key: "nothing", RequestHash: "h", CreatedAt: f.now,
			Result: ports.ImportResult{Sessions: []ports.ImportedSummary{}, Skipped: []ports.ImportSkip{{Index: 0, Reason: "r"}}}}
		must(t, imp.Import(f.ctx, nil, &empty))
		got, err = imp.ImportKey(f.ctx, other.ID(), "nothing")
		must(t, err)
		empty.CreatedAt = ms(empty.CreatedAt)
		equal(t, "empty key", got, empty)
	},
	"export walks many sessions in batches, each once, oldest first": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		var want []string
		for i := range 205 {
			// Three sessions share each creation time: the batches must
			// neither repeat nor lose one at a boundary.
			if i%3 == 0 {
				f.tick(time.Second)
			}
			s, err := domain.NewChatSession(domain.NewSessionParams{ID: newID(), OwnerID: owner.ID(), Title: fmt.Sprint(i),
				Provider: domain.ProviderLocal, Model: "m", Now: f.now})
			must(t, err)
			must(t, f.sessions.Create(f.ctx, s))
			want = append(want, s.ID())
		}
		// Same time: id order.
		for i := 0; i < len(want); i += 3 {
			slices.Sort(want[i:min(i+3, len(want))])
		}
		_, _, order := exported(t, f, owner)
		equal(t, "sessions", order, want)
	},
	"export walks only owned sessions": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		other := f.user(t, "other@example.com")
		mine := f.session(t, owner, "mine")
		theirs := f.session(t, other, "theirs")
		must(t, f.sessions.AddParticipant(f.ctx, domain.Participant{SessionID: theirs.ID(), UserID: owner.ID(),
			Role: domain.ParticipantMember, CreatedAt: f.now}))
		m1, r1 := f.post(t, mine, owner, "one", true)
		m2, _ := f.post(t, mine, owner, "two", false)
		f.post(t, theirs, owner, "in their session", false)

		sessions, messages, order := exported(t, f, owner)
		equal(t, "owned only", order, []string{mine.ID()})
		equal(t, "an empty-titled count", sessions[mine.ID()].MessageCount(), 3)
		var ids []string
		for _, m := range messages[mine.ID()] {
			ids = append(ids, m.ID())
		}
		equal(t, "messages in time order", ids, []string{m1.ID(), r1.ID(), m2.ID()})

		// A session without messages is walked too; a stranger walks nothing.
		empty := f.session(t, owner, "empty")
		_, messages, order = exported(t, f, owner)
		equal(t, "with the empty session", order, []string{mine.ID(), empty.ID()})
		equal(t, "no messages", len(messages[empty.ID()]), 0)
		stranger := f.user(t, "stranger@example.com")
		_, _, order = exported(t, f, stranger)
		equal(t, "stranger", len(order), 0)
	},
}
