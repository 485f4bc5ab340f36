package app_test

import (
	"testing"
	"time"

	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// otherProcessReply stores a streaming reply that another process
// generates, leased until until.
func (e *env) otherProcessReply(s *domain.ChatSession, u app.Caller, until time.Time) string {
	e.t.Helper()
	q := e.post(s, u, "q")
	qid := q.ID()
	r, err := domain.NewReplyPlaceholder(e.ids.NewID(), s.ID(), u.UserID, &qid, domain.ProviderLocal, "m", e.clock.Now())
	must(e.t, err)
	must(e.t, e.messages.CreateTurn(e.ctx, ports.NewTurn{Reply: r, Placement: domain.Under(&qid),
		Lease: ports.ReplyLease{Owner: "another process", Until: until}}))
	return r.ID()
}

// Among several processes, a starting one leaves the replies of live
// processes alone; once such a lease lapses, the reply is repaired and its
// end announced within the repair period.
func TestLapsedLeasesAreRepairedLiveOnesKept(t *testing.T) {
	e := newEnv(t, unstarted())
	owner := e.user("owner")
	s := e.session(owner, "t")
	live := e.otherProcessReply(s, owner, e.clock.Now().Add(time.Hour))
	lapsing := e.otherProcessReply(s, owner, e.clock.Now().Add(time.Second))

	must(t, e.gen.Start(e.ctx))
	t.Cleanup(e.stop)
	for _, id := range []string{live, lapsing} {
		if m := e.stored(id); m.Status() != domain.StatusPending {
			t.Fatalf("start repaired a live reply: %+v", m.Snapshot())
		}
	}
	e.clock.Advance(2 * time.Second)
	ev := e.final(s.ID(), lapsing)
	if ev.Type != domain.FinalEventOf(domain.StatusInterrupted) || ev.Message.Status != domain.StatusInterrupted {
		t.Fatalf("lapsed reply announced as %s %+v", ev.Type, ev.Message)
	}
	if m := e.stored(live); m.Status() != domain.StatusPending {
		t.Fatalf("the live reply became %s", m.Status())
	}
}

// A sole process (no broker) knows every unfinished reply at start is left
// over, whatever its lease says: a restart right after a crash repairs it.
func TestSoleProcessRepairsEveryLeftoverAtStart(t *testing.T) {
	e := newEnv(t, unstarted(), withConfig(func(c *app.GenerationConfig) { c.SoleProcess = true }))
	owner := e.user("owner")
	s := e.session(owner, "t")
	id := e.otherProcessReply(s, owner, e.clock.Now().Add(time.Hour))
	must(t, e.gen.Start(e.ctx))
	t.Cleanup(e.stop)
	if m := e.stored(id); m.Status() != domain.StatusInterrupted {
		t.Fatalf("after a sole process's start the reply is %s", m.Status())
	}
}
