package app_test

import (
	"testing"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
	"github.com/chatd/chatd/internal/ports/fakes"
)

// Only a reply that is still generating can be cancelled: anything final
// answers 409 and stays as it was.
func TestCancelOfAFinalMessageConflicts(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")
	e.model.OnStream(
		fakes.Reply(fakes.Stop("m", 1, 1), "done"),
		fakes.Fail(domain.Unavailable("provider-error", "the model failed", nil)),
	)
	completed := e.ask(s, owner, "one")
	e.final(s.ID(), completed.Reply.ID())
	failed := e.ask(s, owner, "two")
	e.final(s.ID(), failed.Reply.ID())
	events := len(e.bus.Published(s.ID()))

	for name, id := range map[string]string{
		"completed reply": completed.Reply.ID(),
		"failed reply":    failed.Reply.ID(),
		"user message":    completed.Message.ID(),
	} {
		before := e.stored(id).Snapshot()
		_, err := e.cancel.Handle(e.ctx, owner, id)
		if de, ok := domain.AsError(err); !ok || de.Kind != domain.ErrConflict || de.Code != "message-not-generating" {
			t.Errorf("%s: cancel answered %v, want 409 message-not-generating", name, err)
		}
		if after := e.stored(id).Snapshot(); after.Status != before.Status || after.Content != before.Content {
			t.Errorf("%s: changed from %s to %s", name, before.Status, after.Status)
		}
	}
	if n := len(e.bus.Published(s.ID())); n != events {
		t.Fatalf("refused cancels published %d events", n-events)
	}
}

// A reply generating in no process that answers the cancel request (its
// process is stuck, or it was just finishing) is cancelled in storage
// directly, once the owner had its chance.
func TestCancelOfAnOrphanedReplyStoresIt(t *testing.T) {
	e := newEnv(t)
	owner, viewer := e.user("owner"), e.user("viewer")
	s := e.session(owner, "t")
	e.join(s, viewer, domain.ParticipantViewer)
	q := e.post(s, owner, "q")
	qid := q.ID()
	orphan, err := domain.NewReplyPlaceholder(e.ids.NewID(), s.ID(), owner.UserID, &qid, domain.ProviderLocal, "m", e.clock.Now())
	must(t, err)
	must(t, orphan.StartStreaming(e.clock.Now()))
	must(t, orphan.RecordProgress("half", e.clock.Now()))
	must(t, e.messages.CreateTurn(e.ctx, ports.NewTurn{Reply: orphan, Placement: domain.Under(&qid),
		Lease: ports.ReplyLease{Owner: "a stuck process", Until: e.clock.Now().Add(time.Hour)}}))

	_, err = e.cancel.Handle(e.ctx, viewer, orphan.ID())
	wantErr(t, err, domain.ErrForbidden, "viewer-cannot-post")

	m, err := e.cancel.Handle(e.ctx, owner, orphan.ID())
	must(t, err)
	if m.Status() != domain.StatusCancelled || m.Content() != "half" {
		t.Fatalf("cancel answered %+v", m.Snapshot())
	}
	if asked := e.control.Requested(); len(asked) != 1 || asked[0] != orphan.ID() {
		t.Fatalf("cancel requests sent to the service: %v, want the orphan's", asked)
	}
	if stored := e.stored(orphan.ID()); stored.Status() != domain.StatusCancelled || stored.Content() != "half" {
		t.Fatalf("stored %+v", stored.Snapshot())
	}
	events := e.bus.Published(s.ID())
	last := events[len(events)-1]
	if last.Type != domain.EventMessageCancelled || last.Message.ID != orphan.ID() {
		t.Fatalf("last event %s", last.Type)
	}

	// Cancelling it again answers it again, without another event.
	again, err := e.cancel.Handle(e.ctx, owner, orphan.ID())
	must(t, err)
	if again.Status() != domain.StatusCancelled || len(e.bus.Published(s.ID())) != len(events) {
		t.Fatalf("second cancel: %s, %d new events", again.Status(), len(e.bus.Published(s.ID()))-len(events))
	}
}
