package storagetest

import (
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// leasedReply stores a turn whose reply owner generates, leased until until.
func (f *fixture) leasedReply(t *testing.T, s *domain.ChatSession, author *domain.User, owner string, until time.Time) *domain.ChatMessage {
	t.Helper()
	m, err := domain.NewPostedMessage(newID(), s.ID(), author.ID(), nil, domain.RoleUser, "question",
		domain.DefaultMaxMessageChars, s, f.tick(time.Second))
	must(t, err)
	id := m.ID()
	r, err := domain.NewReplyPlaceholder(newID(), s.ID(), author.ID(), &id, s.Provider(), s.Model(), f.tick(time.Millisecond))
	must(t, err)
	must(t, f.messages.CreateTurn(f.ctx, ports.NewTurn{Message: m, Reply: r, Lease: ports.ReplyLease{Owner: owner, Until: until}}))
	return r
}

func ids(ms []*domain.ChatMessage) map[string]domain.MessageStatus {
	out := map[string]domain.MessageStatus{}
	for _, m := range ms {
		out[m.ID()] = m.Status()
	}
	return out
}

var leaseTests = map[string]func(t *testing.T, f *fixture){
	"only lapsed leases are repaired": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "chat")
		now := f.tick(time.Second)
		live := f.leasedReply(t, s, owner, "process-a", now.Add(5*time.Second))
		lapsed := f.leasedReply(t, s, owner, "process-b", now.Add(-time.Second))
		_, unleased := f.post(t, s, owner, "from before leases", true)

		repaired, err := f.messages.RepairLapsed(f.ctx, now, now, "")
		must(t, err)
		got := ids(repaired)
		equal(t, "repaired", len(got), 2)
		equal(t, "lapsed", got[lapsed.ID()], domain.StatusInterrupted)
		equal(t, "unleased", got[unleased.ID()], domain.StatusInterrupted)
		stored, err := f.messages.Get(f.ctx, live.ID())
		must(t, err)
		equal(t, "live reply", stored.Status(), domain.StatusPending)

		// Renewed, the live lease outlasts its first term; unrenewed, it lapses.
		must(t, f.messages.RenewLeases(f.ctx, "process-a", now.Add(20*time.Second)))
		repaired, err = f.messages.RepairLapsed(f.ctx, now.Add(10*time.Second), now.Add(10*time.Second), "")
		must(t, err)
		equal(t, "repaired after renewal", len(repaired), 0)
		must(t, f.messages.RenewLeases(f.ctx, "process-b", now.Add(time.Hour))) // not b's
		repaired, err = f.messages.RepairLapsed(f.ctx, now.Add(21*time.Second), now.Add(21*time.Second), "")
		must(t, err)
		equal(t, "repaired once lapsed", len(repaired), 1)
		equal(t, "the live one, at last", repaired[0].ID(), live.ID())
	},
	"a reply is written by its owner only, until it is repaired": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "chat")
		now := f.tick(time.Second)
		r := f.leasedReply(t, s, owner, "process-a", now.Add(5*time.Second))
		must(t, r.StartStreaming(f.tick(time.Millisecond)))
		must(t, r.RecordProgress("partial", f.tick(time.Millisecond)))
		wantErr(t, f.messages.SaveReply(f.ctx, r, "process-b", 1), domain.ErrConflict, "reply-not-owned")
		must(t, f.messages.SaveReply(f.ctx, r, "process-a", 1))

		repaired, err := f.messages.RepairLapsed(f.ctx, now.Add(6*time.Second), now.Add(6*time.Second), "")
		must(t, err)
		equal(t, "repaired", len(repaired), 1)
		equal(t, "text kept", repaired[0].Content(), "partial")
		// The owner comes back late: its end must not overwrite the repair.
		must(t, r.Complete("partial and more", domain.GenerationResult{FinishReason: "stop"}, f.tick(time.Second)))
		wantErr(t, f.messages.SaveReply(f.ctx, r, "process-a", 1), domain.ErrConflict, "reply-not-owned")
		stored, err := f.messages.Get(f.ctx, r.ID())
		must(t, err)
		equal(t, "status", stored.Status(), domain.StatusInterrupted)
		equal(t, "content", stored.Content(), "partial")
	},
	"a repairer leaves its own lapsed replies alone": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "chat")
		now := f.tick(time.Second)
		mine := f.leasedReply(t, s, owner, "process-a", now.Add(time.Second))
		theirs := f.leasedReply(t, s, owner, "process-b", now.Add(time.Second))
		later := now.Add(time.Minute)
		repaired, err := f.messages.RepairLapsed(f.ctx, later, later, "process-a")
		must(t, err)
		equal(t, "repaired", len(repaired), 1)
		equal(t, "the other process's", repaired[0].ID(), theirs.ID())
		// Its own process, alive though its lease lapsed, still stores it.
		must(t, mine.Complete("done", domain.GenerationResult{FinishReason: "stop"}, f.tick(time.Second)))
		must(t, f.messages.SaveReply(f.ctx, mine, "process-a", 1))
	},
	"generating replies are listed with the delta events their text holds": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "chat")
		other := f.session(t, owner, "other")
		now := f.tick(time.Second)
		first := f.leasedReply(t, s, owner, "process-a", now.Add(time.Minute))
		second := f.leasedReply(t, s, owner, "process-a", now.Add(time.Minute))
		f.leasedReply(t, other, owner, "process-a", now.Add(time.Minute))
		must(t, first.StartStreaming(f.tick(time.Millisecond)))
		must(t, first.RecordProgress("one two three", f.tick(time.Millisecond)))
		must(t, f.messages.SaveReply(f.ctx, first, "process-a", 3))

		got, err := f.messages.Generating(f.ctx, s.ID())
		must(t, err)
		equal(t, "generating replies", len(got), 2)
		equal(t, "oldest first", got[0].Message.ID(), first.ID())
		equal(t, "its text", got[0].Message.Content(), "one two three")
		equal(t, "its deltas", got[0].Deltas, 3)
		equal(t, "the newer one", got[1].Message.ID(), second.ID())
		equal(t, "nothing streamed yet", got[1].Deltas, 0)

		must(t, first.Complete("one two three", domain.GenerationResult{FinishReason: "stop"}, f.tick(time.Second)))
		must(t, f.messages.SaveReply(f.ctx, first, "process-a", 3))
		got, err = f.messages.Generating(f.ctx, s.ID())
		must(t, err)
		equal(t, "after one ended", len(got), 1)
		got, err = f.messages.Generating(f.ctx, "not-an-id")
		must(t, err)
		equal(t, "unknown session", len(got), 0)
	},
	"a final save ends the lease": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "chat")
		now := f.tick(time.Second)
		r := f.leasedReply(t, s, owner, "process-a", now.Add(5*time.Second))
		must(t, r.Complete("done", domain.GenerationResult{FinishReason: "stop"}, f.tick(time.Second)))
		must(t, f.messages.SaveReply(f.ctx, r, "process-a", 1))
		repaired, err := f.messages.RepairLapsed(f.ctx, now.Add(time.Hour), now.Add(time.Hour), "")
		must(t, err)
		equal(t, "repaired", len(repaired), 0)
		wantErr(t, f.messages.SaveReply(f.ctx, r, "process-a", 1), domain.ErrConflict, "reply-not-owned")
		gone := f.leasedReply(t, s, owner, "process-a", now.Add(5*time.Second))
		must(t, f.sessions.Delete(f.ctx, s.ID()))
		wantErr(t, f.messages.SaveReply(f.ctx, gone, "process-a", 1), domain.ErrNotFound, "")
	},
	"concurrent repairers share the lapsed replies out": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "chat")
		now := f.tick(time.Second)
		const lapsed = 12
		for range lapsed {
			f.leasedReply(t, s, owner, "dead", now.Add(-time.Second))
		}
		var mu sync.Mutex
		seen := map[string]int{}
		collect(t, 4, func(int) error {
			repaired, err := f.messages.RepairLapsed(f.ctx, now, now, "")
			mu.Lock()
			defer mu.Unlock()
			for _, m := range repaired {
				seen[m.ID()]++
			}
			return err
		})
		equal(t, "replies repaired", len(seen), lapsed)
		for id, n := range seen {
			equal(t, "times repaired "+id, n, 1)
		}
	},
}
