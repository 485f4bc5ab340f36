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

// A snapshot shows a reply another process generates with the text a client
// has been sent: its stored text (the first deltas) and the later deltas
// of the replay window, each once.
func TestSnapshotOfAReplyGeneratingElsewhere(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")
	id := e.otherProcessReply(s, owner, e.clock.Now().Add(time.Hour))
	m := e.stored(id)
	must(t, m.StartStreaming(e.clock.Now()))
	must(t, m.RecordProgress("ab", e.clock.Now()))
	must(t, e.messages.SaveReply(e.ctx, m, "another process", 2))
	for i, piece := range []string{"a", "b", "c", "d"} {
		_, err := e.bus.Publish(e.ctx, domain.SessionEvent{Type: domain.EventMessageDelta, SessionID: s.ID(),
			Delta: &domain.MessageDelta{MessageID: id, Delta: piece, Index: i}})
		must(t, err)
	}
	last, streaming, err := e.gen.Snapshot(e.ctx, s.ID())
	must(t, err)
	if want, _ := e.bus.LastSeq(e.ctx, s.ID()); last != want {
		t.Fatalf("snapshot at seq %d, want %d", last, want)
	}
	if len(streaming) != 1 || streaming[0].ID != id || streaming[0].Content != "abcd" {
		t.Fatalf("snapshot %+v, want the reply with abcd", streaming)
	}
	final := m.Snapshot()
	final.Status, final.Content = domain.StatusCompleted, "abcde"
	_, err = e.bus.Publish(e.ctx, domain.SessionEvent{Type: domain.EventMessageCompleted, SessionID: s.ID(), Message: &final})
	must(t, err)
	if _, streaming, _ := e.gen.Snapshot(e.ctx, s.ID()); len(streaming) != 0 {
		t.Fatalf("a reply that ended in the window is still streaming: %+v", streaming)
	}
}
