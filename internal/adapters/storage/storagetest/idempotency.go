package storagetest

import (
	"testing"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

var idempotencyTests = map[string]func(t *testing.T, f *fixture){
	"record round trip": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "chat")
		m, err := domain.NewPostedMessage(newID(), s.ID(), owner.ID(), nil, domain.RoleUser, "keyed", 100, s, f.tick(time.Second))
		must(t, err)
		mid := m.ID()
		reply, err := domain.NewReplyPlaceholder(newID(), s.ID(), owner.ID(), &mid, s.Provider(), s.Model(), f.now)
		must(t, err)
		rid := reply.ID()
		rec := domain.IdempotencyRecord{UserID: owner.ID(), Key: "client-key-Ω-1", RequestHash: "sha256:abc", UserMessageID: mid, AssistantMessageID: &rid, CreatedAt: f.now}
		must(t, f.messages.CreateTurn(f.ctx, ports.NewTurn{Message: m, Reply: reply, Idempotency: &rec}))

		got, err := f.idem.Get(f.ctx, owner.ID(), "client-key-Ω-1")
		must(t, err)
		rec.CreatedAt = ms(rec.CreatedAt)
		equal(t, "record", got, rec)

		// Keys are per user and exact.
		other := f.user(t, "other@example.com")
		_, err = f.idem.Get(f.ctx, other.ID(), "client-key-Ω-1")
		wantErr(t, err, domain.ErrNotFound, "idempotency-key-not-found")
		_, err = f.idem.Get(f.ctx, owner.ID(), "CLIENT-KEY-Ω-1")
		wantErr(t, err, domain.ErrNotFound, "idempotency-key-not-found")
	},
	"record without reply": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "chat")
		m, err := domain.NewPostedMessage(newID(), s.ID(), owner.ID(), nil, domain.RoleSystem, "note", 100, s, f.now)
		must(t, err)
		rec := domain.IdempotencyRecord{UserID: owner.ID(), Key: "k", RequestHash: "h", UserMessageID: m.ID(), CreatedAt: f.now}
		must(t, f.messages.CreateTurn(f.ctx, ports.NewTurn{Message: m, Idempotency: &rec}))
		got, err := f.idem.Get(f.ctx, owner.ID(), "k")
		must(t, err)
		if got.AssistantMessageID != nil {
			t.Fatalf("assistant message id = %q, want nil", *got.AssistantMessageID)
		}
	},
	"a used key is a conflict and stores nothing": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "chat")
		first, err := domain.NewPostedMessage(newID(), s.ID(), owner.ID(), nil, domain.RoleUser, "first", 100, s, f.tick(time.Second))
		must(t, err)
		rec := domain.IdempotencyRecord{UserID: owner.ID(), Key: "same", RequestHash: "h1", UserMessageID: first.ID(), CreatedAt: f.now}
		must(t, f.messages.CreateTurn(f.ctx, ports.NewTurn{Message: first, Idempotency: &rec}))

		second, err := domain.NewPostedMessage(newID(), s.ID(), owner.ID(), nil, domain.RoleUser, "second", 100, s, f.tick(time.Second))
		must(t, err)
		reply, err := domain.NewReplyPlaceholder(newID(), s.ID(), owner.ID(), nil, s.Provider(), s.Model(), f.now)
		must(t, err)
		again := domain.IdempotencyRecord{UserID: owner.ID(), Key: "same", RequestHash: "h2", UserMessageID: second.ID(), CreatedAt: f.now}
		err = f.messages.CreateTurn(f.ctx, ports.NewTurn{Message: second, Reply: reply, Idempotency: &again})
		wantErr(t, err, domain.ErrConflict, "idempotency-key-exists")

		for _, id := range []string{second.ID(), reply.ID()} {
			_, err = f.messages.Get(f.ctx, id)
			wantErr(t, err, domain.ErrNotFound, "message-not-found")
		}
		sess, err := f.sessions.Get(f.ctx, s.ID())
		must(t, err)
		equal(t, "message count", sess.MessageCount(), 1)
		equal(t, "last message at", sess.LastMessageAt(), msPtr(first.CreatedAt()))
		got, err := f.idem.Get(f.ctx, owner.ID(), "same")
		must(t, err)
		equal(t, "first record kept", got.RequestHash, "h1")
	},
}
