package storagetest

import (
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// postUnder stores a lone user message placed as given.
func (f *fixture) postUnder(t *testing.T, s *domain.ChatSession, author *domain.User, content string, at domain.Placement) *domain.ChatMessage {
	t.Helper()
	m, err := domain.NewPostedMessage(newID(), s.ID(), author.ID(), nil, domain.RoleUser, content,
		domain.DefaultMaxMessageChars, s, f.tick(time.Second))
	must(t, err)
	must(t, f.messages.CreateTurn(f.ctx, ports.NewTurn{Message: m, Placement: at}))
	return m
}

func (f *fixture) current(t *testing.T, sessionID string) *string {
	t.Helper()
	s, err := f.sessions.Get(f.ctx, sessionID)
	must(t, err)
	return s.CurrentMessageID()
}

func idsOf(ms []*domain.ChatMessage) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.ID())
	}
	return out
}

func (f *fixture) branch(t *testing.T, sessionID string, order ports.Order) []string {
	t.Helper()
	ms, total, err := f.messages.List(f.ctx, sessionID, ports.MessageQuery{Branch: domain.BranchCurrent, Order: order,
		Page: ports.Page{Number: 1, Size: 100}})
	must(t, err)
	equal(t, "branch total", total, len(ms))
	return idsOf(ms)
}

var treeTests = map[string]func(t *testing.T, f *fixture){
	"a turn follows the current message and becomes it": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "chat")
		equal(t, "empty session's current", f.current(t, s.ID()), (*string)(nil))
		m1, r1 := f.post(t, s, owner, "one", true)
		equal(t, "first message is a root", m1.ParentID(), (*string)(nil))
		equal(t, "current is the reply", *f.current(t, s.ID()), r1.ID())
		m2, _ := f.post(t, s, owner, "two", false)
		equal(t, "second follows the reply", *m2.ParentID(), r1.ID())
		equal(t, "current", *f.current(t, s.ID()), m2.ID())
		equal(t, "branch", f.branch(t, s.ID(), ports.OrderAsc), []string{m1.ID(), r1.ID(), m2.ID()})
		equal(t, "branch desc", f.branch(t, s.ID(), ports.OrderDesc), []string{m2.ID(), r1.ID(), m1.ID()})
	},
	"a chosen parent forks, and a foreign one is refused": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "chat")
		other := f.session(t, owner, "other")
		root := f.postUnder(t, s, owner, "root", domain.FollowCurrent())
		a := f.postUnder(t, s, owner, "a", domain.FollowCurrent())
		b := f.postUnder(t, s, owner, "b (edit of a)", domain.Under(ptr(root.ID())))
		equal(t, "fork parent", *b.ParentID(), root.ID())
		equal(t, "current branch", f.branch(t, s.ID(), ports.OrderAsc), []string{root.ID(), b.ID()})
		sib, err := f.messages.SiblingIDs(f.ctx, s.ID(), []*domain.ChatMessage{root, a, b})
		must(t, err)
		equal(t, "siblings of a", sib[a.ID()], []string{a.ID(), b.ID()})
		equal(t, "siblings of b", sib[b.ID()], []string{a.ID(), b.ID()})
		equal(t, "siblings of the root", sib[root.ID()], []string{root.ID()})

		newRoot := f.postUnder(t, s, owner, "again from the top", domain.Under(nil))
		equal(t, "new root", newRoot.ParentID(), (*string)(nil))
		sib, err = f.messages.SiblingIDs(f.ctx, s.ID(), []*domain.ChatMessage{newRoot})
		must(t, err)
		equal(t, "root siblings", sib[newRoot.ID()], []string{root.ID(), newRoot.ID()})

		elsewhere := f.postUnder(t, other, owner, "elsewhere", domain.FollowCurrent())
		m, err := domain.NewPostedMessage(newID(), s.ID(), owner.ID(), nil, domain.RoleUser, "x", 100, s, f.tick(time.Second))
		must(t, err)
		for _, parent := range []string{elsewhere.ID(), newID(), "not-an-id"} {
			err = f.messages.CreateTurn(f.ctx, ports.NewTurn{Message: m, Placement: domain.Under(ptr(parent))})
			wantErr(t, err, domain.ErrInvalid, "invalid-field")
		}
		all, total, err := f.messages.List(f.ctx, s.ID(), ports.MessageQuery{Branch: domain.BranchAll, Order: ports.OrderAsc,
			Page: ports.Page{Number: 1, Size: 100}})
		must(t, err)
		equal(t, "all branches", total, 4)
		equal(t, "all in time order", idsOf(all), []string{root.ID(), a.ID(), b.ID(), newRoot.ID()})
		sess, err := f.sessions.Get(f.ctx, s.ID())
		must(t, err)
		equal(t, "message count, all branches", sess.MessageCount(), 4)
	},
	"concurrent posts form one chain": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "chat")
		const writers = 12
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for range writers {
			m, err := domain.NewPostedMessage(newID(), s.ID(), owner.ID(), nil, domain.RoleUser, "racing", 100, s, f.now)
			must(t, err)
			wg.Go(func() { errs <- f.messages.CreateTurn(f.ctx, ports.NewTurn{Message: m}) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			must(t, err)
		}
		path, err := f.messages.Ancestors(f.ctx, *f.current(t, s.ID()), 0)
		must(t, err)
		equal(t, "one chain holds every post", len(path), writers)
		equal(t, "the chain starts at a root", path[0].ParentID(), (*string)(nil))
	},
	"ancestors walk up from a message, the newest limit of them": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "chat")
		var chain []string
		for range 6 {
			chain = append(chain, f.postUnder(t, s, owner, "turn", domain.FollowCurrent()).ID())
		}
		f.postUnder(t, s, owner, "side branch", domain.Under(ptr(chain[2])))
		path, err := f.messages.Ancestors(f.ctx, chain[4], 0)
		must(t, err)
		equal(t, "whole path", idsOf(path), chain[:5])
		path, err = f.messages.Ancestors(f.ctx, chain[4], 2)
		must(t, err)
		equal(t, "last two", idsOf(path), chain[3:5])
		path, err = f.messages.Ancestors(f.ctx, newID(), 0)
		must(t, err)
		equal(t, "missing message", len(path), 0)
	},
	"switching takes the newest leaf under the chosen message": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "chat")
		root := f.postUnder(t, s, owner, "root", domain.FollowCurrent())
		a := f.postUnder(t, s, owner, "a", domain.FollowCurrent())
		a1 := f.postUnder(t, s, owner, "a1", domain.FollowCurrent())
		a2 := f.postUnder(t, s, owner, "a2 (newer child of a)", domain.Under(ptr(a.ID())))
		a2x := f.postUnder(t, s, owner, "under a2", domain.FollowCurrent())
		b := f.postUnder(t, s, owner, "b", domain.Under(ptr(root.ID())))

		sess, err := f.messages.SwitchBranch(f.ctx, s.ID(), a.ID(), f.tick(time.Second))
		must(t, err)
		equal(t, "newest leaf under a", *sess.CurrentMessageID(), a2x.ID())
		equal(t, "stored", *f.current(t, s.ID()), a2x.ID())
		equal(t, "branch", f.branch(t, s.ID(), ports.OrderAsc), []string{root.ID(), a.ID(), a2.ID(), a2x.ID()})
		sess, err = f.messages.SwitchBranch(f.ctx, s.ID(), a1.ID(), f.tick(time.Second))
		must(t, err)
		equal(t, "a leaf is its own leaf", *sess.CurrentMessageID(), a1.ID())
		sess, err = f.messages.SwitchBranch(f.ctx, s.ID(), b.ID(), f.tick(time.Second))
		must(t, err)
		equal(t, "b", *sess.CurrentMessageID(), b.ID())

		other := f.session(t, owner, "other")
		foreign := f.postUnder(t, other, owner, "elsewhere", domain.FollowCurrent())
		_, err = f.messages.SwitchBranch(f.ctx, s.ID(), foreign.ID(), f.now)
		wantErr(t, err, domain.ErrInvalid, "invalid-field")
		_, err = f.messages.SwitchBranch(f.ctx, s.ID(), newID(), f.now)
		wantErr(t, err, domain.ErrInvalid, "invalid-field")
		_, err = f.messages.SwitchBranch(f.ctx, newID(), a.ID(), f.now)
		wantErr(t, err, domain.ErrNotFound, "session-not-found")
	},
	"deleting removes the subtree and moves the current branch": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "chat")
		root := f.postUnder(t, s, owner, "root", domain.FollowCurrent())
		a := f.postUnder(t, s, owner, "a", domain.FollowCurrent())
		a1 := f.postUnder(t, s, owner, "a1", domain.FollowCurrent())
		b := f.postUnder(t, s, owner, "b", domain.Under(ptr(root.ID())))
		_, err := f.messages.SwitchBranch(f.ctx, s.ID(), a.ID(), f.tick(time.Second))
		must(t, err)

		gone, err := f.messages.DeleteSubtree(f.ctx, a.ID(), f.tick(time.Second))
		must(t, err)
		equal(t, "deleted, the message first", gone.IDs, []string{a.ID(), a1.ID()})
		equal(t, "current moved to the newest leaf under the parent", *gone.Session.CurrentMessageID(), b.ID())
		equal(t, "count", gone.Session.MessageCount(), 2)
		_, err = f.messages.Get(f.ctx, a1.ID())
		wantErr(t, err, domain.ErrNotFound, "message-not-found")

		gone, err = f.messages.DeleteSubtree(f.ctx, b.ID(), f.tick(time.Second))
		must(t, err)
		equal(t, "nothing else under the parent: the parent", *gone.Session.CurrentMessageID(), root.ID())

		second := f.postUnder(t, s, owner, "second root", domain.Under(nil))
		gone, err = f.messages.DeleteSubtree(f.ctx, second.ID(), f.tick(time.Second))
		must(t, err)
		equal(t, "a first message with a sibling: the sibling's leaf", *gone.Session.CurrentMessageID(), root.ID())
		gone, err = f.messages.DeleteSubtree(f.ctx, root.ID(), f.tick(time.Second))
		must(t, err)
		equal(t, "the last first message: null", gone.Session.CurrentMessageID(), (*string)(nil))
		equal(t, "empty", gone.Session.MessageCount(), 0)
		_, err = f.messages.DeleteSubtree(f.ctx, root.ID(), f.now)
		wantErr(t, err, domain.ErrNotFound, "message-not-found")
	},
	"deleting off the current branch leaves it": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "chat")
		root := f.postUnder(t, s, owner, "root", domain.FollowCurrent())
		a := f.postUnder(t, s, owner, "a", domain.FollowCurrent())
		b := f.postUnder(t, s, owner, "b", domain.Under(ptr(root.ID())))
		gone, err := f.messages.DeleteSubtree(f.ctx, a.ID(), f.tick(time.Second))
		must(t, err)
		equal(t, "current stays", *gone.Session.CurrentMessageID(), b.ID())
	},
	"a deep branch lists and walks in one query": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "chat")
		const depth = 300
		var last string
		for range depth {
			last = f.postUnder(t, s, owner, "deep", domain.FollowCurrent()).ID()
		}
		path, err := f.messages.Ancestors(f.ctx, last, 0)
		must(t, err)
		equal(t, "path", len(path), depth)
		ms, total, err := f.messages.List(f.ctx, s.ID(), ports.MessageQuery{Branch: domain.BranchCurrent,
			Order: ports.OrderAsc, Page: ports.Page{Number: 3, Size: 100}})
		must(t, err)
		equal(t, "total", total, depth)
		equal(t, "last page ends at the current message", ms[len(ms)-1].ID(), last)
		_, total, err = f.messages.List(f.ctx, s.ID(), ports.MessageQuery{Branch: domain.BranchCurrent,
			Order: ports.OrderAsc, Page: ports.Page{Number: 9, Size: 100}})
		must(t, err)
		equal(t, "total past the end", total, depth)
	},
}
