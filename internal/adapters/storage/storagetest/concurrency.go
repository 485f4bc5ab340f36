package storagetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

const writers = 20

// collect runs fn in n goroutines at once and fails on any error, naming
// "database is locked" explicitly: it is the failure SQLite servers are known for.
func collect(t *testing.T, n int, fn func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			errs <- fn(i)
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err == nil {
			continue
		}
		if strings.Contains(err.Error(), "locked") || strings.Contains(err.Error(), "SQLITE_BUSY") {
			t.Fatalf("concurrent writers collided: %v", err)
		}
		t.Fatalf("concurrent writer failed: %v", err)
	}
}

var concurrencyTests = map[string]func(t *testing.T, f *fixture){
	"twenty writers on their own sessions": func(t *testing.T, f *fixture) {
		const turns = 5
		base := f.now
		sessions := make([]string, writers)
		collect(t, writers, func(i int) error {
			at := base.Add(time.Duration(i) * time.Hour)
			u, err := domain.NewUser(newID(), fmt.Sprintf("writer%d@example.com", i), "Writer", "h", domain.UserRoleUser, at)
			if err != nil {
				return err
			}
			if err := f.users.Create(f.ctx, u); err != nil {
				return err
			}
			s, err := domain.NewChatSession(domain.NewSessionParams{ID: newID(), OwnerID: u.ID(), Provider: domain.ProviderLocal, Model: "m", Now: at})
			if err != nil {
				return err
			}
			if err := f.sessions.Create(f.ctx, s); err != nil {
				return err
			}
			sessions[i] = s.ID()
			tok := domain.RefreshToken{ID: newID(), FamilyID: newID(), UserID: u.ID(), TokenHash: newID(), ExpiresAt: at.Add(time.Hour), CreatedAt: at}
			if err := f.tokens.Create(f.ctx, tok); err != nil {
				return err
			}
			for j := range turns {
				at = at.Add(time.Second)
				m, err := domain.NewPostedMessage(newID(), s.ID(), u.ID(), nil, domain.RoleUser, "hi", 100, s, at)
				if err != nil {
					return err
				}
				reply, err := domain.NewReplyPlaceholder(newID(), s.ID(), u.ID(), nil, s.Provider(), s.Model(), at)
				if err != nil {
					return err
				}
				rec := domain.IdempotencyRecord{UserID: u.ID(), Key: fmt.Sprint(j), RequestHash: "h", UserMessageID: m.ID(), CreatedAt: at}
				if err := f.messages.CreateTurn(f.ctx, ports.NewTurn{Message: m, Reply: reply, Idempotency: &rec}); err != nil {
					return err
				}
				// Flushes of a streaming reply, as the generator does every second.
				snap := reply.Snapshot()
				for k := range 3 {
					snap.Status, snap.Content = domain.StatusStreaming, strings.Repeat("word ", k+1)
					if err := f.messages.Save(f.ctx, domain.RehydrateMessage(snap)); err != nil {
						return err
					}
				}
				if _, _, err := f.messages.List(f.ctx, s.ID(), ports.MessageQuery{Branch: domain.BranchAll, Order: ports.OrderDesc, Page: ports.Page{Number: 1, Size: 5}}); err != nil {
					return err
				}
			}
			if _, err := f.sessions.Update(f.ctx, s.ID(), func(cs *domain.ChatSession) error {
				return cs.Apply(domain.SessionPatch{Title: ptr("done")}, at)
			}); err != nil {
				return err
			}
			if _, err := f.tokens.MarkUsed(f.ctx, tok.ID, at); err != nil {
				return err
			}
			_, err = f.stats.Stats(f.ctx, ptr(u.ID()))
			return err
		})
		for _, id := range sessions {
			s, err := f.sessions.Get(f.ctx, id)
			must(t, err)
			equal(t, "message count", s.MessageCount(), 2*turns)
			equal(t, "title", s.Title(), "done")
		}
		repaired, err := f.messages.RepairLapsed(f.ctx, f.now, f.now, "")
		must(t, err)
		equal(t, "streaming replies", len(repaired), writers*turns)
	},
	"twenty writers on one session": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "busy")
		base := f.now
		collect(t, writers, func(i int) error {
			at := base.Add(time.Duration(i) * time.Millisecond)
			m, err := domain.NewPostedMessage(newID(), s.ID(), owner.ID(), nil, domain.RoleUser, "hi", 100, s, at)
			if err != nil {
				return err
			}
			reply, err := domain.NewReplyPlaceholder(newID(), s.ID(), owner.ID(), nil, s.Provider(), s.Model(), at)
			if err != nil {
				return err
			}
			if err := f.messages.CreateTurn(f.ctx, ports.NewTurn{Message: m, Reply: reply}); err != nil {
				return err
			}
			_, err = f.sessions.Update(f.ctx, s.ID(), func(cs *domain.ChatSession) error {
				return cs.Apply(domain.SessionPatch{Title: ptr(fmt.Sprint("edit ", i))}, at)
			})
			return err
		})
		got, err := f.sessions.Get(f.ctx, s.ID())
		must(t, err)
		equal(t, "message count", got.MessageCount(), 2*writers)
		equal(t, "last message at", got.LastMessageAt(), msPtr(base.Add((writers-1)*time.Millisecond)))
	},
}
