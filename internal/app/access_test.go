package app_test

import (
	"reflect"
	"testing"

	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// Another user's session answers exactly what a session that does not exist
// answers, through every use case that takes a session id.
func TestNonParticipantSeesTheSameNotFoundAsAMissingSession(t *testing.T) {
	e := newEnv(t)
	owner, stranger := e.user("owner"), e.user("stranger")
	s := e.session(owner, "mine")
	missing := e.ids.NewID()

	calls := map[string]func(caller app.Caller, sessionID string) error{
		"access": func(c app.Caller, id string) error { _, _, err := e.access.Session(e.ctx, c, id); return err },
		"send": func(c app.Caller, id string) error {
			_, err := e.send.Handle(e.ctx, c, app.SendMessageCmd{SessionID: id, Content: "hi", Role: domain.RoleUser})
			return err
		},
		"process-llm": func(c app.Caller, id string) error {
			_, err := e.process.Handle(e.ctx, c, app.ProcessLLMCmd{SessionID: id})
			return err
		},
		"list-messages": func(c app.Caller, id string) error {
			_, err := e.list.Handle(e.ctx, c, id, ports.MessageQuery{Branch: domain.BranchAll, Order: ports.OrderAsc, Page: ports.Page{Number: 1, Size: 10}})
			return err
		},
		"update-session": func(c app.Caller, id string) error {
			_, err := e.update.Handle(e.ctx, c, id, app.UpdateSessionCmd{Patch: domain.SessionPatch{Title: ptr("x")}})
			return err
		},
		"delete-session": func(c app.Caller, id string) error { return e.remove.Handle(e.ctx, c, id) },
		"participants":   func(c app.Caller, id string) error { _, err := e.parts.List(e.ctx, c, id); return err },
		"add-participant": func(c app.Caller, id string) error {
			_, err := e.parts.Add(e.ctx, c, id, app.AddParticipantCmd{UserID: c.UserID, Role: domain.ParticipantMember})
			return err
		},
		"remove-participant": func(c app.Caller, id string) error { return e.parts.Remove(e.ctx, c, id, c.UserID) },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			foreign := call(stranger, s.ID())
			absent := call(stranger, missing)
			wantErr(t, foreign, domain.ErrNotFound, "session-not-found")
			if !reflect.DeepEqual(foreign, absent) {
				t.Fatalf("another user's session answers %#v, a missing one %#v", foreign, absent)
			}
		})
	}
	if n := e.store.MessageCount(); n != 0 {
		t.Fatalf("%d messages stored by a stranger", n)
	}
	if got, _ := e.sessions.Get(e.ctx, s.ID()); got.Title() != "mine" {
		t.Fatalf("a stranger renamed the session to %q", got.Title())
	}
}

// The same holds for message ids: cancel and edit.
func TestNonParticipantSeesTheSameNotFoundAsAMissingMessage(t *testing.T) {
	e := newEnv(t)
	owner, stranger := e.user("owner"), e.user("stranger")
	s := e.session(owner, "mine")
	m := e.post(s, owner, "secret")
	missing := e.ids.NewID()

	calls := map[string]func(messageID string) error{
		"cancel": func(id string) error { _, err := e.cancel.Handle(e.ctx, stranger, id); return err },
		"edit": func(id string) error {
			_, err := e.edit.Handle(e.ctx, stranger, id, domain.MessageEdit{Content: ptr("mine now")})
			return err
		},
		"access": func(id string) error { _, _, err := e.access.Message(e.ctx, e.messages, stranger, id); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			foreign, absent := call(m.ID()), call(missing)
			wantErr(t, foreign, domain.ErrNotFound, "message-not-found")
			if !reflect.DeepEqual(foreign, absent) {
				t.Fatalf("another user's message answers %#v, a missing one %#v", foreign, absent)
			}
		})
	}
	if got := e.stored(m.ID()).Content(); got != "secret" {
		t.Fatalf("content = %q after a stranger's edit", got)
	}
}

func TestViewerReadsButCannotPost(t *testing.T) {
	e := newEnv(t)
	owner, viewer := e.user("owner"), e.user("viewer")
	s := e.session(owner, "shared")
	e.join(s, viewer, domain.ParticipantViewer)
	m := e.post(s, owner, "hello viewers")
	published := len(e.bus.Published(s.ID()))

	_, err := e.send.Handle(e.ctx, viewer, app.SendMessageCmd{SessionID: s.ID(), Content: "me too", Role: domain.RoleUser})
	wantErr(t, err, domain.ErrForbidden, "viewer-cannot-post")
	_, err = e.send.Handle(e.ctx, viewer, app.SendMessageCmd{SessionID: s.ID(), Content: "answer me", Role: domain.RoleUser, ProcessLLM: true})
	wantErr(t, err, domain.ErrForbidden, "viewer-cannot-post")
	_, err = e.process.Handle(e.ctx, viewer, app.ProcessLLMCmd{SessionID: s.ID()})
	wantErr(t, err, domain.ErrForbidden, "viewer-cannot-post")
	_, err = e.edit.Handle(e.ctx, viewer, m.ID(), domain.MessageEdit{Content: ptr("edited")})
	wantErr(t, err, domain.ErrForbidden, "viewer-cannot-post")

	if n := e.store.MessageCount(); n != 1 {
		t.Fatalf("%d messages stored, want only the owner's", n)
	}
	if got := len(e.bus.Published(s.ID())); got != published {
		t.Fatalf("a refused post published %d events", got-published)
	}
	if n := len(e.model.StreamRequests()); n != 0 {
		t.Fatalf("a viewer's post reached the model %d times", n)
	}
	if limited := e.limiter.Calls(); len(limited) != 0 {
		t.Fatalf("a refused post spent rate budget: %+v", limited)
	}

	listed, err := e.list.Handle(e.ctx, viewer, s.ID(), ports.MessageQuery{Branch: domain.BranchAll, Order: ports.OrderAsc, Page: ports.Page{Number: 1, Size: 10}})
	must(t, err)
	if listed.Total != 1 || len(listed.Messages) != 1 || listed.Messages[0].Message.Content() != "hello viewers" {
		t.Fatalf("viewer lists %d of %d messages", len(listed.Messages), listed.Total)
	}
	if _, err := e.parts.List(e.ctx, viewer, s.ID()); err != nil {
		t.Fatalf("viewer cannot list participants: %v", err)
	}
	// Leaving is not managing: a viewer may leave.
	must(t, e.parts.Remove(e.ctx, viewer, s.ID(), viewer.UserID))
	_, _, err = e.access.Session(e.ctx, viewer, s.ID())
	wantErr(t, err, domain.ErrNotFound, "session-not-found")
}

func TestMemberPostsButCannotManage(t *testing.T) {
	e := newEnv(t)
	owner, member, other := e.user("owner"), e.user("member"), e.user("other")
	s := e.session(owner, "team")
	e.join(s, member, domain.ParticipantMember)
	e.join(s, other, domain.ParticipantViewer)

	e.post(s, member, "members may post")

	_, err := e.update.Handle(e.ctx, member, s.ID(), app.UpdateSessionCmd{Patch: domain.SessionPatch{Title: ptr("mine now")}})
	wantErr(t, err, domain.ErrForbidden, "owner-only")
	err = e.remove.Handle(e.ctx, member, s.ID())
	wantErr(t, err, domain.ErrForbidden, "owner-only")
	_, err = e.parts.Add(e.ctx, member, s.ID(), app.AddParticipantCmd{Email: "x@example.com", Role: domain.ParticipantMember})
	wantErr(t, err, domain.ErrForbidden, "owner-only")
	err = e.parts.Remove(e.ctx, member, s.ID(), other.UserID)
	wantErr(t, err, domain.ErrForbidden, "owner-only")
	err = e.parts.Remove(e.ctx, member, s.ID(), owner.UserID)
	wantErr(t, err, domain.ErrForbidden, "owner-only")

	got, err := e.sessions.Get(e.ctx, s.ID())
	must(t, err)
	if got.Title() != "team" {
		t.Fatalf("title = %q after a member's patch", got.Title())
	}
	if ps, _ := e.sessions.Participants(e.ctx, s.ID()); len(ps) != 3 {
		t.Fatalf("%d participants after a member's removals, want 3", len(ps))
	}
	if e.bus.Closed(s.ID()) != 0 {
		t.Fatal("a member's delete closed the session's events")
	}

	// The owner manages, but cannot remove themself.
	err = e.parts.Remove(e.ctx, owner, s.ID(), owner.UserID)
	wantErr(t, err, domain.ErrInvalid, "owner-cannot-leave")
	must(t, e.parts.Remove(e.ctx, owner, s.ID(), other.UserID))
	signals := e.bus.Signals(s.ID())
	if len(signals) != 1 || signals[0].Type != domain.EventParticipantRemoved || signals[0].Removed.UserID != other.UserID {
		t.Fatalf("removal signalled %+v, want one participant.removed for the user", signals)
	}
}

// A storage failure is not turned into NotFound: the caller must learn that
// the database failed, not that the session is gone.
func TestAccessPassesStorageFailuresThrough(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")
	outage := domain.Unavailable("storage-unavailable", "the database is not answering", errFlaky)
	failOn(e.store, "sessions.Membership", -1, outage)
	_, _, err := e.access.Session(e.ctx, owner, s.ID())
	wantErr(t, err, domain.ErrUnavailable, "storage-unavailable")
}
