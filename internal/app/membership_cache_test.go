package app_test

import (
	"sync/atomic"
	"testing"

	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

func soleProcess() envOption {
	return withConfig(func(c *app.GenerationConfig) { c.SoleProcess = true })
}

// countOp counts the storage calls named op.
func (e *env) countOp(op string) *atomic.Int64 {
	var n atomic.Int64
	e.store.SetFault(func(got string) error {
		if got == op {
			n.Add(1)
		}
		return nil
	})
	e.t.Cleanup(func() { e.store.SetFault(nil) })
	return &n
}

// A sole process answers repeated checks of an unchanged session from
// memory, and reads storage again once the session changed.
func TestAccessChecksOfAnUnchangedSessionAreKept(t *testing.T) {
	e := newEnv(t, soleProcess())
	owner := e.user("owner")
	s := e.session(owner, "t")
	reads := e.countOp("sessions.Membership")
	for range 3 {
		_, _, err := e.access.Session(e.ctx, owner, s.ID())
		must(t, err)
	}
	if reads.Load() != 1 {
		t.Fatalf("%d storage reads for 3 checks of an unchanged session, want 1", reads.Load())
	}
	_, err := e.update.Handle(e.ctx, owner, s.ID(), app.UpdateSessionCmd{Patch: domain.SessionPatch{Title: ptr("renamed")}})
	must(t, err)
	got, _, err := e.access.Session(e.ctx, owner, s.ID())
	must(t, err)
	if got.Title() != "renamed" {
		t.Fatalf("title %q after the announced rename", got.Title())
	}
	e.post(s, owner, "hello")
	got, _, err = e.access.Session(e.ctx, owner, s.ID())
	must(t, err)
	if got.MessageCount() != 1 || got.CurrentMessageID() == nil {
		t.Fatalf("session after a post: %d messages, current %v", got.MessageCount(), got.CurrentMessageID())
	}
}

// A removal is not announced with a seq, yet access ends with it at once.
func TestRemovedParticipantLosesAccessAtOnce(t *testing.T) {
	e := newEnv(t, soleProcess())
	owner, bob := e.user("owner"), e.user("bob")
	s := e.session(owner, "t")
	_, err := e.parts.Add(e.ctx, owner, s.ID(), app.AddParticipantCmd{UserID: bob.UserID, Role: domain.ParticipantMember})
	must(t, err)
	_, _, err = e.access.Session(e.ctx, bob, s.ID())
	must(t, err)
	must(t, e.parts.Remove(e.ctx, owner, s.ID(), bob.UserID))
	_, _, err = e.access.Session(e.ctx, bob, s.ID())
	wantErr(t, err, domain.ErrNotFound, "session-not-found")
	e.post(s, owner, "after")
	_, err = e.list.Handle(e.ctx, bob, s.ID(), ports.MessageQuery{})
	wantErr(t, err, domain.ErrNotFound, "session-not-found")
}
