package storagetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

var sessionTests = map[string]func(t *testing.T, f *fixture){
	"round trip with every setting": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s, err := domain.NewChatSession(domain.NewSessionParams{
			ID: newID(), OwnerID: owner.ID(), Title: "Plans for the «trip» 🚀", Provider: domain.ProviderOpenRouter,
			Model: "openai/gpt-4o", Now: f.now,
			Settings: domain.Settings{
				SystemPrompt: ptr("You are terse.\nReply in 日本語 when asked."), Temperature: ptr(0.7), TopP: ptr(0.95),
				MaxTokens: ptr(512), MaxContextMessages: ptr(40), Stop: []string{"\n\n", "END"},
				FallbackModels: []string{"anthropic/claude-3.5-sonnet", "meta-llama/llama-3-70b"},
			},
		})
		must(t, err)
		must(t, f.sessions.Create(f.ctx, s))
		got, err := f.sessions.Get(f.ctx, s.ID())
		must(t, err)
		equal(t, "session", got.Snapshot(), storedSession(s.Snapshot()))
	},
	"unset settings stay unset and empty lists stay empty": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		plain := f.session(t, owner, "")
		got, err := f.sessions.Get(f.ctx, plain.ID())
		must(t, err)
		equal(t, "plain settings", got.Settings(), domain.Settings{})

		s, err := domain.NewChatSession(domain.NewSessionParams{
			ID: newID(), OwnerID: owner.ID(), Provider: domain.ProviderLocal, Model: "m", Now: f.now,
			Settings: domain.Settings{Stop: []string{}, FallbackModels: []string{}},
		})
		must(t, err)
		must(t, f.sessions.Create(f.ctx, s))
		got, err = f.sessions.Get(f.ctx, s.ID())
		must(t, err)
		equal(t, "empty lists", got.Settings(), domain.Settings{Stop: []string{}, FallbackModels: []string{}})
	},
	"create makes the owner a participant": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "mine")
		p, err := f.sessions.Participant(f.ctx, s.ID(), owner.ID())
		must(t, err)
		equal(t, "owner", p, domain.Participant{SessionID: s.ID(), UserID: owner.ID(), Role: domain.ParticipantOwner, CreatedAt: ms(s.CreatedAt())})
	},
	"create for a missing owner is not found": func(t *testing.T, f *fixture) {
		s, err := domain.NewChatSession(domain.NewSessionParams{ID: newID(), OwnerID: newID(), Provider: domain.ProviderLocal, Model: "m", Now: f.now})
		must(t, err)
		wantErr(t, f.sessions.Create(f.ctx, s), domain.ErrNotFound, "user-not-found")
		_, err = f.sessions.Get(f.ctx, s.ID())
		wantErr(t, err, domain.ErrNotFound, "session-not-found")
	},
	"missing is not found": func(t *testing.T, f *fixture) {
		_, err := f.sessions.Get(f.ctx, newID())
		wantErr(t, err, domain.ErrNotFound, "session-not-found")
		_, err = f.sessions.Get(f.ctx, "{"+newID()+"}")
		wantErr(t, err, domain.ErrNotFound, "session-not-found")
		_, err = f.sessions.Update(f.ctx, newID(), func(*domain.ChatSession) error { return nil })
		wantErr(t, err, domain.ErrNotFound, "session-not-found")
		wantErr(t, f.sessions.Delete(f.ctx, newID()), domain.ErrNotFound, "session-not-found")
	},
	"update stores what fn changed": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "before")
		f.post(t, s, owner, "hello", true)

		at := f.tick(time.Minute)
		provider := domain.ProviderOpenRouter
		got, err := f.sessions.Update(f.ctx, s.ID(), func(cs *domain.ChatSession) error {
			return cs.Apply(domain.SessionPatch{
				Title: ptr("after"), Provider: &provider, Model: ptr("openai/gpt-4o-mini"),
				Settings: &domain.Settings{Temperature: ptr(1.5)}, IsActive: ptr(false),
			}, at)
		})
		must(t, err)
		reread, err := f.sessions.Get(f.ctx, s.ID())
		must(t, err)
		equal(t, "returned vs stored", got.Snapshot(), reread.Snapshot())

		want := reread.Snapshot()
		equal(t, "title", want.Title, "after")
		equal(t, "provider", want.Provider, domain.ProviderOpenRouter)
		equal(t, "model", want.Model, "openai/gpt-4o-mini")
		equal(t, "settings", want.Settings, domain.Settings{Temperature: ptr(1.5)})
		equal(t, "active", want.IsActive, false)
		equal(t, "updated_at", want.UpdatedAt, ms(at))
		// The count and last activity belong to CreateTurn: an edit keeps them.
		equal(t, "message count", want.MessageCount, 2)
		if want.LastMessageAt == nil {
			t.Fatal("last_message_at lost by update")
		}
	},
	"update fn error changes nothing": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "keep")
		boom := errors.New("boom")
		_, err := f.sessions.Update(f.ctx, s.ID(), func(cs *domain.ChatSession) error {
			_ = cs.Apply(domain.SessionPatch{Title: ptr("changed")}, f.now)
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("want fn's error, got %v", err)
		}
		forbidden := domain.Forbidden("owner-only", "only the owner")
		_, err = f.sessions.Update(f.ctx, s.ID(), func(*domain.ChatSession) error { return forbidden })
		wantErr(t, err, domain.ErrForbidden, "owner-only")
		got, err := f.sessions.Get(f.ctx, s.ID())
		must(t, err)
		equal(t, "title", got.Title(), "keep")
	},
	"delete cascades to participants, messages and idempotency records": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		member := f.user(t, "member@example.com")
		s := f.session(t, owner, "doomed")
		must(t, f.sessions.AddParticipant(f.ctx, domain.Participant{SessionID: s.ID(), UserID: member.ID(), Role: domain.ParticipantMember, CreatedAt: f.now}))
		m, reply := f.post(t, s, owner, "first", true)
		rid := reply.ID()
		idem := domain.IdempotencyRecord{UserID: owner.ID(), Key: "k1", RequestHash: "h", UserMessageID: newID(), AssistantMessageID: nil, CreatedAt: f.now}
		m2, err := domain.NewPostedMessage(idem.UserMessageID, s.ID(), owner.ID(), &rid, domain.RoleUser, "second", 100, s, f.tick(time.Second))
		must(t, err)
		must(t, f.messages.CreateTurn(f.ctx, ports.NewTurn{Message: m2, Idempotency: &idem}))
		keep := f.session(t, owner, "survivor")
		kept, _ := f.post(t, keep, owner, "stays", false)

		must(t, f.sessions.Delete(f.ctx, s.ID()))

		_, err = f.sessions.Get(f.ctx, s.ID())
		wantErr(t, err, domain.ErrNotFound, "session-not-found")
		for _, id := range []string{m.ID(), reply.ID(), m2.ID()} {
			_, err = f.messages.Get(f.ctx, id)
			wantErr(t, err, domain.ErrNotFound, "message-not-found")
		}
		_, err = f.sessions.Participant(f.ctx, s.ID(), member.ID())
		wantErr(t, err, domain.ErrNotFound, "participant-not-found")
		ps, err := f.sessions.Participants(f.ctx, s.ID())
		must(t, err)
		equal(t, "participants", len(ps), 0)
		_, err = f.idem.Get(f.ctx, owner.ID(), "k1")
		wantErr(t, err, domain.ErrNotFound, "idempotency-key-not-found")
		list, total, err := f.messages.List(f.ctx, s.ID(), ports.MessageQuery{Branch: domain.BranchAll, Order: ports.OrderAsc, Page: ports.Page{Number: 1, Size: 10}})
		must(t, err)
		equal(t, "messages left", total, 0)
		equal(t, "messages listed", len(list), 0)

		// Other sessions and the users are untouched.
		_, err = f.messages.Get(f.ctx, kept.ID())
		must(t, err)
		_, err = f.users.GetByID(f.ctx, member.ID())
		must(t, err)
	},
	"list orders by last activity then id, filters and pages": func(t *testing.T, f *fixture) {
		alice := f.user(t, "alice@example.com")
		bob := f.user(t, "bob@example.com")
		stranger := f.user(t, "stranger@example.com")

		old := f.session(t, alice, "old")                                                       // created first, no messages
		chatty := f.session(t, alice, "chatty")                                                 // gets a message last
		router := f.session(t, alice, "router", withProvider(domain.ProviderOpenRouter, "x/y")) // newest creation
		shared := f.session(t, bob, "bob's, shared with alice")
		must(t, f.sessions.AddParticipant(f.ctx, domain.Participant{SessionID: shared.ID(), UserID: alice.ID(), Role: domain.ParticipantViewer, CreatedAt: f.now}))
		f.post(t, shared, bob, "bob speaks", false)
		f.post(t, chatty, alice, "alice speaks last", false)
		_, err := f.sessions.Update(f.ctx, old.ID(), func(s *domain.ChatSession) error {
			return s.Apply(domain.SessionPatch{IsActive: ptr(false)}, f.now)
		})
		must(t, err)

		ids := func(ss []*domain.ChatSession) []string {
			out := []string{}
			for _, s := range ss {
				out = append(out, s.ID())
			}
			return out
		}
		all, total, err := f.sessions.ListForUser(f.ctx, alice.ID(), ports.SessionFilter{}, ports.Page{Number: 1, Size: 10})
		must(t, err)
		equal(t, "total", total, 4)
		equal(t, "order", ids(all), []string{chatty.ID(), shared.ID(), router.ID(), old.ID()})

		p1, total, err := f.sessions.ListForUser(f.ctx, alice.ID(), ports.SessionFilter{}, ports.Page{Number: 1, Size: 3})
		must(t, err)
		equal(t, "page 1 total", total, 4)
		p2, total, err := f.sessions.ListForUser(f.ctx, alice.ID(), ports.SessionFilter{}, ports.Page{Number: 2, Size: 3})
		must(t, err)
		equal(t, "page 2 total", total, 4)
		equal(t, "pages", append(ids(p1), ids(p2)...), ids(all))
		p3, total, err := f.sessions.ListForUser(f.ctx, alice.ID(), ports.SessionFilter{}, ports.Page{Number: 3, Size: 3})
		must(t, err)
		equal(t, "past the end", len(p3), 0)
		equal(t, "past the end total", total, 4)

		active, total, err := f.sessions.ListForUser(f.ctx, alice.ID(), ports.SessionFilter{IsActive: ptr(true)}, ports.Page{Number: 1, Size: 10})
		must(t, err)
		equal(t, "active total", total, 3)
		equal(t, "active", ids(active), []string{chatty.ID(), shared.ID(), router.ID()})
		inactive, _, err := f.sessions.ListForUser(f.ctx, alice.ID(), ports.SessionFilter{IsActive: ptr(false)}, ports.Page{Number: 1, Size: 10})
		must(t, err)
		equal(t, "inactive", ids(inactive), []string{old.ID()})
		openrouter := domain.ProviderOpenRouter
		byProvider, total, err := f.sessions.ListForUser(f.ctx, alice.ID(), ports.SessionFilter{Provider: &openrouter}, ports.Page{Number: 1, Size: 10})
		must(t, err)
		equal(t, "provider total", total, 1)
		equal(t, "provider", ids(byProvider), []string{router.ID()})

		bobs, total, err := f.sessions.ListForUser(f.ctx, bob.ID(), ports.SessionFilter{}, ports.Page{Number: 1, Size: 10})
		must(t, err)
		equal(t, "bob sees his own", ids(bobs), []string{shared.ID()})
		equal(t, "bob total", total, 1)
		none, total, err := f.sessions.ListForUser(f.ctx, stranger.ID(), ports.SessionFilter{}, ports.Page{Number: 1, Size: 10})
		must(t, err)
		equal(t, "stranger sees nothing", len(none), 0)
		equal(t, "stranger total", total, 0)
	},
	"list breaks activity ties by id, newest id first": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		var want []string
		for i := 0; i < 4; i++ {
			s, err := domain.NewChatSession(domain.NewSessionParams{ID: newID(), OwnerID: owner.ID(), Provider: domain.ProviderLocal, Model: "m", Now: f.now})
			must(t, err)
			must(t, f.sessions.Create(f.ctx, s))
			want = append(want, s.ID())
		}
		slices.Sort(want)
		slices.Reverse(want)
		got, _, err := f.sessions.ListForUser(f.ctx, owner.ID(), ports.SessionFilter{}, ports.Page{Number: 1, Size: 10})
		must(t, err)
		var ids []string
		for _, s := range got {
			ids = append(ids, s.ID())
		}
		equal(t, "tie order", ids, want)
	},
	"sub-second activity orders correctly": func(t *testing.T, f *fixture) {
		// Times whose text forms differ in length (.5 vs .05 vs whole
		// seconds) must still sort as times on SQLite.
		owner := f.user(t, "owner@example.com")
		base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		offsets := []time.Duration{500 * time.Millisecond, 0, 50 * time.Millisecond, time.Second, 5 * time.Millisecond, 999 * time.Millisecond}
		byTime := map[time.Duration]string{}
		for _, off := range offsets {
			s, err := domain.NewChatSession(domain.NewSessionParams{ID: newID(), OwnerID: owner.ID(), Provider: domain.ProviderLocal, Model: "m", Now: base.Add(off)})
			must(t, err)
			must(t, f.sessions.Create(f.ctx, s))
			byTime[off] = s.ID()
		}
		got, _, err := f.sessions.ListForUser(f.ctx, owner.ID(), ports.SessionFilter{}, ports.Page{Number: 1, Size: 10})
		must(t, err)
		want := []time.Duration{time.Second, 999 * time.Millisecond, 500 * time.Millisecond, 50 * time.Millisecond, 5 * time.Millisecond, 0}
		for i, s := range got {
			if s.ID() != byTime[want[i]] {
				t.Fatalf("position %d: got session created at %v, want +%v", i, s.CreatedAt(), want[i])
			}
		}
	},
}
