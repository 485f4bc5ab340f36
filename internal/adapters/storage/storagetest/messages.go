package storagetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

var messageTests = map[string]func(t *testing.T, f *fixture){
	"turn stores both messages and bumps the session": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "chat")
		m, reply := f.post(t, s, owner, "Hello there", true)

		for _, want := range []*domain.ChatMessage{m, reply} {
			got, err := f.messages.Get(f.ctx, want.ID())
			must(t, err)
			equal(t, "message "+string(want.Role()), got.Snapshot(), stored(want.Snapshot()))
		}
		got, err := f.messages.Get(f.ctx, reply.ID())
		must(t, err)
		equal(t, "reply parent", *got.ParentID(), m.ID())

		sess, err := f.sessions.Get(f.ctx, s.ID())
		must(t, err)
		equal(t, "message count", sess.MessageCount(), 2)
		equal(t, "last message at", sess.LastMessageAt(), msPtr(reply.CreatedAt()))
		equal(t, "updated at", sess.UpdatedAt(), ms(reply.CreatedAt()))

		f.post(t, s, owner, "no reply wanted", false)
		sess, err = f.sessions.Get(f.ctx, s.ID())
		must(t, err)
		equal(t, "message count after a lone message", sess.MessageCount(), 3)
	},
	"turn stored twice counts once": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "chat")
		m, err := domain.NewPostedMessage(newID(), s.ID(), owner.ID(), nil, domain.RoleUser, "once", 100, s, f.tick(time.Second))
		must(t, err)
		reply, err := domain.NewReplyPlaceholder(newID(), s.ID(), owner.ID(), nil, s.Provider(), s.Model(), f.now)
		must(t, err)
		turn := ports.NewTurn{Message: m, Reply: reply}
		must(t, f.messages.CreateTurn(f.ctx, turn))
		must(t, f.messages.CreateTurn(f.ctx, turn))
		sess, err := f.sessions.Get(f.ctx, s.ID())
		must(t, err)
		equal(t, "message count", sess.MessageCount(), 2)
		_, total, err := f.messages.List(f.ctx, s.ID(), ports.MessageQuery{Branch: domain.BranchAll, Order: ports.OrderAsc, Page: ports.Page{Number: 1, Size: 10}})
		must(t, err)
		equal(t, "stored", total, 2)
	},
	"turn for a missing session is not found": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		ghost, err := domain.NewChatSession(domain.NewSessionParams{ID: newID(), OwnerID: owner.ID(), Provider: domain.ProviderLocal, Model: "m", Now: f.now})
		must(t, err)
		m, err := domain.NewPostedMessage(newID(), ghost.ID(), owner.ID(), nil, domain.RoleUser, "into the void", 100, ghost, f.now)
		must(t, err)
		wantErr(t, f.messages.CreateTurn(f.ctx, ports.NewTurn{Message: m}), domain.ErrNotFound, "session-not-found")
	},
	"missing is not found": func(t *testing.T, f *fixture) {
		_, err := f.messages.Get(f.ctx, newID())
		wantErr(t, err, domain.ErrNotFound, "message-not-found")
		_, err = f.messages.Get(f.ctx, "NOT-A-UUID")
		wantErr(t, err, domain.ErrNotFound, "message-not-found")
		_, err = f.messages.Update(f.ctx, newID(), func(*domain.ChatMessage) error { return nil })
		wantErr(t, err, domain.ErrNotFound, "message-not-found")
		ghost := domain.RehydrateMessage(domain.MessageSnapshot{
			ID: newID(), SessionID: newID(), UserID: newID(), Role: domain.RoleAssistant, Provider: domain.ProviderLocal,
			Model: "m", Status: domain.StatusStreaming, CreatedAt: f.now, UpdatedAt: f.now,
		})
		wantErr(t, f.messages.Save(f.ctx, ghost), domain.ErrNotFound, "message-not-found")
	},
	"list pages in both orders, ties broken by id": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "chat")
		other := f.session(t, owner, "other")
		f.post(t, other, owner, "elsewhere", false)

		// Two messages share each timestamp, so only the id orders them.
		var asc []string
		for i := 0; i < 4; i++ {
			at := f.tick(time.Second)
			var pair []string
			for j := 0; j < 2; j++ {
				m, err := domain.NewPostedMessage(newID(), s.ID(), owner.ID(), nil, domain.RoleUser, "msg", 100, s, at)
				must(t, err)
				must(t, f.messages.CreateTurn(f.ctx, ports.NewTurn{Message: m}))
				pair = append(pair, m.ID())
			}
			slices.Sort(pair)
			asc = append(asc, pair...)
		}
		desc := slices.Clone(asc)
		slices.Reverse(desc)

		for _, c := range []struct {
			order ports.Order
			want  []string
		}{{ports.OrderAsc, asc}, {ports.OrderDesc, desc}} {
			var got []string
			for page := 1; page <= 3; page++ {
				ms, total, err := f.messages.List(f.ctx, s.ID(), ports.MessageQuery{Branch: domain.BranchAll, Order: c.order, Page: ports.Page{Number: page, Size: 3}})
				must(t, err)
				equal(t, "total", total, 8)
				for _, m := range ms {
					got = append(got, m.ID())
				}
			}
			equal(t, "order "+string(c.order), got, c.want)
		}
	},
	"save stores every mutable column": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "chat")
		_, reply := f.post(t, s, owner, "question", true)

		snap := reply.Snapshot()
		snap.Content = "The answer is 42."
		snap.Provider, snap.Model = domain.ProviderOpenRouter, "fallback/model"
		snap.ResponseTimeMs, snap.TokensUsed, snap.ErrorMessage = ptr(1234), ptr(99), ptr("upstream hiccup, recovered")
		snap.Status = domain.StatusCompleted
		snap.Metadata = map[string]any{"finish_reason": "stop", "prompt_tokens": 60, "completion_tokens": 39, "time_to_first_token_ms": 210}
		snap.UpdatedAt = f.tick(3 * time.Second)
		must(t, f.messages.Save(f.ctx, domain.RehydrateMessage(snap)))

		got, err := f.messages.Get(f.ctx, reply.ID())
		must(t, err)
		equal(t, "saved", got.Snapshot(), stored(snap))

		// And back to nulls.
		snap.ResponseTimeMs, snap.TokensUsed, snap.ErrorMessage = nil, nil, nil
		snap.Metadata = map[string]any{}
		must(t, f.messages.Save(f.ctx, domain.RehydrateMessage(snap)))
		got, err = f.messages.Get(f.ctx, reply.ID())
		must(t, err)
		equal(t, "saved nulls", got.Snapshot(), stored(snap))
	},
	"update applies fn in a transaction": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "chat")
		m, _ := f.post(t, s, owner, "typo", false)
		at := f.tick(time.Minute)
		got, err := f.messages.Update(f.ctx, m.ID(), func(cm *domain.ChatMessage) error {
			return cm.Edit(owner.ID(), domain.MessageEdit{Content: ptr("fixed"), Metadata: map[string]any{"edited": true}}, 100, at)
		})
		must(t, err)
		reread, err := f.messages.Get(f.ctx, m.ID())
		must(t, err)
		equal(t, "returned vs stored", got.Snapshot(), reread.Snapshot())
		equal(t, "content", reread.Content(), "fixed")
		equal(t, "metadata", reread.Metadata(), map[string]any{"edited": true})
		equal(t, "updated_at", reread.UpdatedAt(), ms(at))

		boom := errors.New("boom")
		_, err = f.messages.Update(f.ctx, m.ID(), func(cm *domain.ChatMessage) error {
			_ = cm.Edit(owner.ID(), domain.MessageEdit{Content: ptr("lost")}, 100, at)
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("want fn's error, got %v", err)
		}
		_, err = f.messages.Update(f.ctx, m.ID(), func(cm *domain.ChatMessage) error {
			return cm.Edit(newID(), domain.MessageEdit{Content: ptr("not yours")}, 100, at)
		})
		wantErr(t, err, domain.ErrForbidden, "not-message-author")
		reread, err = f.messages.Get(f.ctx, m.ID())
		must(t, err)
		equal(t, "content after failed updates", reread.Content(), "fixed")
	},
	"interrupt streaming marks unfinished replies only": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "chat")
		_, pending := f.post(t, s, owner, "one", true)
		_, streaming := f.post(t, s, owner, "two", true)
		_, done := f.post(t, s, owner, "three", true)
		for _, c := range []struct {
			m      *domain.ChatMessage
			status domain.MessageStatus
		}{{streaming, domain.StatusStreaming}, {done, domain.StatusCompleted}} {
			snap := c.m.Snapshot()
			snap.Status, snap.Content = c.status, "partial"
			must(t, f.messages.Save(f.ctx, domain.RehydrateMessage(snap)))
		}
		at := f.tick(time.Hour)
		repaired, err := f.messages.RepairLapsed(f.ctx, at, at, "")
		must(t, err)
		equal(t, "interrupted", len(repaired), 2)
		for _, c := range []struct {
			m       *domain.ChatMessage
			status  domain.MessageStatus
			updated time.Time
		}{{pending, domain.StatusInterrupted, ms(at)}, {streaming, domain.StatusInterrupted, ms(at)}, {done, domain.StatusCompleted, ms(done.UpdatedAt())}} {
			got, err := f.messages.Get(f.ctx, c.m.ID())
			must(t, err)
			equal(t, "status", got.Status(), c.status)
			equal(t, "updated_at", got.UpdatedAt(), c.updated)
		}
		got, err := f.messages.Get(f.ctx, streaming.ID())
		must(t, err)
		equal(t, "text so far kept", got.Content(), "partial")
		repaired, err = f.messages.RepairLapsed(f.ctx, at, at, "")
		must(t, err)
		equal(t, "second run", len(repaired), 0)
	},
	"unicode text and metadata round trip": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "ünïcødé")
		texts := []string{
			"emoji 👩‍👩‍👧‍👦🏳️‍🌈 and CJK 漢字かなカナ 한국어",
			"RTL שלום مرحبا, combining e\u0301 vs é, zero width a\u200bb, BOM \ufeff",
			"quotes ' \" ` and backslashes \\ \\n \\u0000 and SQL '); DROP TABLE chat_messages; --",
			"line\nbreaks\r\nand\ttabs, astral 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \U0010FFFD",
		}
		for _, text := range texts {
			m, err := domain.NewPostedMessage(newID(), s.ID(), owner.ID(), nil, domain.RoleUser, text, 1000, s, f.tick(time.Second))
			must(t, err)
			must(t, f.messages.CreateTurn(f.ctx, ports.NewTurn{Message: m}))
			snap := m.Snapshot()
			snap.Metadata = map[string]any{
				"text": text, "ключ 🔑": "значение", "nested": map[string]any{"list": []any{1, 2.5, "三", true, nil}, "empty": map[string]any{}},
				"big": 9007199254740991, "neg": -0.001, "flag": false, "none": nil, `"quoted" key\`: `back\slash 'single'`,
			}
			must(t, f.messages.Save(f.ctx, domain.RehydrateMessage(snap)))
			got, err := f.messages.Get(f.ctx, m.ID())
			must(t, err)
			equal(t, "round trip", got.Snapshot(), stored(snap))
		}
	},
	"NUL is refused the same on every dialect": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "chat")
		_, reply := f.post(t, s, owner, "q", true)
		snap := reply.Snapshot()
		snap.Content = "generated\x00text"
		wantErr(t, f.messages.Save(f.ctx, domain.RehydrateMessage(snap)), domain.ErrInvalid, "invalid-field")
		snap = reply.Snapshot()
		snap.Metadata = map[string]any{"finish_reason": "st\x00p"}
		wantErr(t, f.messages.Save(f.ctx, domain.RehydrateMessage(snap)), domain.ErrInvalid, "invalid-field")
		got, err := f.messages.Get(f.ctx, reply.ID())
		must(t, err)
		equal(t, "unchanged", got.Snapshot(), stored(reply.Snapshot()))
	},
	"timestamps round trip in UTC at millisecond precision": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		tokyo := time.FixedZone("JST", 9*3600)
		// A time zone east of UTC, nanoseconds, and the end of a second.
		at := time.Date(2026, 12, 31, 23, 59, 59, 999_999_999, tokyo)
		s, err := domain.NewChatSession(domain.NewSessionParams{ID: newID(), OwnerID: owner.ID(), Provider: domain.ProviderLocal, Model: "m", Now: at})
		must(t, err)
		must(t, f.sessions.Create(f.ctx, s))
		m := domain.RehydrateMessage(domain.MessageSnapshot{
			ID: newID(), SessionID: s.ID(), UserID: owner.ID(), Role: domain.RoleSystem, Content: "sys",
			Provider: domain.ProviderLocal, Model: "m", Status: domain.StatusCompleted,
			CreatedAt: at, UpdatedAt: at.Add(-time.Nanosecond),
		})
		must(t, f.messages.CreateTurn(f.ctx, ports.NewTurn{Message: m}))

		gotS, err := f.sessions.Get(f.ctx, s.ID())
		must(t, err)
		gotM, err := f.messages.Get(f.ctx, m.ID())
		must(t, err)
		want := time.Date(2026, 12, 31, 14, 59, 59, 999_000_000, time.UTC)
		for name, got := range map[string]time.Time{
			"session created": gotS.CreatedAt(), "session last message": *gotS.LastMessageAt(),
			"message created": gotM.CreatedAt(), "message updated": gotM.UpdatedAt(),
		} {
			if got != want { // == on purpose: same instant, same location, no monotonic reading
				t.Fatalf("%s = %v (%v), want %v", name, got, got.Location(), want)
			}
		}
	},
}
