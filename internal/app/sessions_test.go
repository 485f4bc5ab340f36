package app_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
	"github.com/chatd/chatd/internal/ports/fakes"
)

func TestCreateSessionMakesTheCallerOwner(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "  Trip planning  ", domain.Settings{Temperature: ptr(0.2)})
	if s.Title() != "Trip planning" || s.OwnerID() != owner.UserID || !s.IsActive() || s.MessageCount() != 0 {
		t.Fatalf("session %+v", s.Snapshot())
	}
	p, err := e.sessions.Participant(e.ctx, s.ID(), owner.UserID)
	must(t, err)
	if p.Role != domain.ParticipantOwner {
		t.Fatalf("owner's role %s", p.Role)
	}

	for name, cmd := range map[string]app.CreateSessionCmd{
		"bad provider":   {Provider: "local", Model: "m"},
		"no model":       {Provider: domain.ProviderLocal},
		"bad settings":   {Provider: domain.ProviderLocal, Model: "m", Settings: domain.Settings{TopP: ptr(0.0)}},
		"NUL in title":   {Provider: domain.ProviderLocal, Model: "m", Title: "a\x00"},
		"title too long": {Provider: domain.ProviderLocal, Model: "m", Title: string(make([]rune, 201))},
	} {
		if _, err := e.create.Handle(e.ctx, owner, cmd); !domain.IsKind(err, domain.ErrInvalid) {
			t.Errorf("%s: error %v, want invalid", name, err)
		}
	}
	list, total, err := e.sessions.ListForUser(e.ctx, owner.UserID, ports.SessionFilter{}, ports.Page{Number: 1, Size: 10})
	must(t, err)
	if total != 1 || len(list) != 1 {
		t.Fatalf("%d sessions stored", total)
	}
}

func TestUpdateSessionAppliesAllOrNothing(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "old")
	e.clock.Advance(time.Minute)

	updated, err := e.update.Handle(e.ctx, owner, s.ID(), app.UpdateSessionCmd{Patch: domain.SessionPatch{Title: ptr("new"), IsActive: ptr(false)}})
	must(t, err)
	if updated.Title() != "new" || updated.IsActive() || !updated.UpdatedAt().Equal(e.clock.Now().Truncate(time.Millisecond)) {
		t.Fatalf("updated %+v", updated.Snapshot())
	}
	events := e.bus.Published(s.ID())
	if len(events) != 1 || events[0].Type != domain.EventSessionUpdated || events[0].Session.Title != "new" {
		t.Fatalf("events %v", types(events))
	}

	// A valid title with invalid settings changes neither.
	_, err = e.update.Handle(e.ctx, owner, s.ID(), app.UpdateSessionCmd{Patch: domain.SessionPatch{
		Title: ptr("newer"), Settings: &domain.Settings{MaxTokens: ptr(0)},
	}})
	wantErr(t, err, domain.ErrInvalid, "invalid-settings")
	got, err := e.sessions.Get(e.ctx, s.ID())
	must(t, err)
	if got.Title() != "new" || got.Settings().MaxTokens != nil {
		t.Fatalf("a refused patch changed %+v", got.Snapshot())
	}
	if len(e.bus.Published(s.ID())) != 1 {
		t.Fatal("a refused patch published")
	}
}

func TestDeleteSessionAnnouncesThenEndsSubscriptions(t *testing.T) {
	e := newEnv(t)
	owner, member := e.user("owner"), e.user("member")
	s := e.session(owner, "t")
	e.join(s, member, domain.ParticipantMember)
	m := e.post(s, owner, "bye")
	sub, _, _ := e.bus.Subscribe(e.ctx, s.ID(), -1, 8)

	must(t, e.remove.Handle(e.ctx, owner, s.ID()))
	var got []domain.SessionEvent
	for ev := range sub.Events() {
		got = append(got, ev)
	}
	if len(got) != 1 || got[0].Type != domain.EventSessionDeleted || got[0].Session.ID != s.ID() || sub.Err() != nil {
		t.Fatalf("subscriber got %v, err %v", types(got), sub.Err())
	}
	if e.bus.Closed(s.ID()) != 1 {
		t.Fatal("the session's events were not closed")
	}
	if _, err := e.messages.Get(e.ctx, m.ID()); !domain.IsKind(err, domain.ErrNotFound) {
		t.Fatalf("message after delete: %v", err)
	}
	_, _, err := e.access.Session(e.ctx, member, s.ID())
	wantErr(t, err, domain.ErrNotFound, "session-not-found")
	err = e.remove.Handle(e.ctx, owner, s.ID())
	wantErr(t, err, domain.ErrNotFound, "session-not-found")
}

func TestParticipantsAddListRemove(t *testing.T) {
	e := newEnv(t)
	owner, ada, bob := e.user("owner"), e.user("ada"), e.user("bob")
	s := e.session(owner, "t")

	view, err := e.parts.Add(e.ctx, owner, s.ID(), app.AddParticipantCmd{Email: " ADA@example.com", Role: domain.ParticipantMember})
	must(t, err)
	if view.UserID != ada.UserID || view.User.Email() != "ada@example.com" || view.Role != domain.ParticipantMember {
		t.Fatalf("added %+v", view)
	}
	e.clock.Advance(time.Second)
	_, err = e.parts.Add(e.ctx, owner, s.ID(), app.AddParticipantCmd{UserID: bob.UserID, Role: domain.ParticipantViewer})
	must(t, err)

	_, err = e.parts.Add(e.ctx, owner, s.ID(), app.AddParticipantCmd{UserID: ada.UserID, Role: domain.ParticipantViewer})
	wantErr(t, err, domain.ErrConflict, "already-participant")
	_, err = e.parts.Add(e.ctx, owner, s.ID(), app.AddParticipantCmd{Email: "nobody@example.com", Role: domain.ParticipantViewer})
	wantErr(t, err, domain.ErrNotFound, "user-not-found")
	_, err = e.parts.Add(e.ctx, owner, s.ID(), app.AddParticipantCmd{UserID: bob.UserID, Email: "bob@example.com", Role: domain.ParticipantViewer})
	wantErr(t, err, domain.ErrInvalid, "user-id-or-email")
	_, err = e.parts.Add(e.ctx, owner, s.ID(), app.AddParticipantCmd{Role: domain.ParticipantViewer})
	wantErr(t, err, domain.ErrInvalid, "user-id-or-email")

	views, err := e.parts.List(e.ctx, bob, s.ID())
	must(t, err)
	var order []string
	for _, v := range views {
		order = append(order, v.User.DisplayName()+":"+string(v.Role))
	}
	if !reflect.DeepEqual(order, []string{"owner:owner", "ada:member", "bob:viewer"}) {
		t.Fatalf("participants %v", order)
	}

	must(t, e.parts.Remove(e.ctx, owner, s.ID(), bob.UserID))
	err = e.parts.Remove(e.ctx, owner, s.ID(), bob.UserID)
	wantErr(t, err, domain.ErrNotFound, "participant-not-found")
	_, _, err = e.access.Session(e.ctx, bob, s.ID())
	wantErr(t, err, domain.ErrNotFound, "session-not-found")
}

func TestListMessagesPages(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")
	for _, c := range []string{"a", "b", "c", "d", "e"} {
		e.post(s, owner, c) // same instant: ids order them
	}
	content := func(ms []app.ListedMessage) string {
		out := ""
		for _, m := range ms {
			out += m.Message.Content()
		}
		return out
	}
	page, err := e.list.Handle(e.ctx, owner, s.ID(), ports.MessageQuery{Branch: domain.BranchAll, Order: ports.OrderAsc, Page: ports.Page{Number: 2, Size: 2}})
	must(t, err)
	if page.Total != 5 || content(page.Messages) != "cd" {
		t.Fatalf("asc page 2: %q of %d", content(page.Messages), page.Total)
	}
	page, err = e.list.Handle(e.ctx, owner, s.ID(), ports.MessageQuery{Branch: domain.BranchAll, Order: ports.OrderDesc, Page: ports.Page{Number: 1, Size: 2}})
	must(t, err)
	if content(page.Messages) != "ed" {
		t.Fatalf("desc page 1: %q", content(page.Messages))
	}
	page, err = e.list.Handle(e.ctx, owner, s.ID(), ports.MessageQuery{Branch: domain.BranchAll, Order: ports.OrderAsc, Page: ports.Page{Number: 4, Size: 2}})
	must(t, err)
	if len(page.Messages) != 0 {
		t.Fatalf("past the end: %q", content(page.Messages))
	}
}

func TestUpdateMessageByItsAuthorOnly(t *testing.T) {
	e := newEnv(t)
	owner, member := e.user("owner"), e.user("member")
	s := e.session(owner, "t")
	e.join(s, member, domain.ParticipantMember)
	e.model.OnStream(fakes.Reply(fakes.Stop("m", 1, 1), "reply"))
	res := e.ask(s, member, "typo")
	e.final(s.ID(), res.Reply.ID())
	events := len(e.bus.Published(s.ID()))

	e.clock.Advance(time.Minute)
	m, err := e.edit.Handle(e.ctx, member, res.Message.ID(), domain.MessageEdit{
		Content: ptr("fixed"), Metadata: map[string]any{"edited": true},
	})
	must(t, err)
	if m.Content() != "fixed" || m.Metadata()["edited"] != true || !m.UpdatedAt().Equal(e.clock.Now().Truncate(time.Millisecond)) {
		t.Fatalf("edited %+v", m.Snapshot())
	}
	last := e.bus.Published(s.ID())[events]
	if last.Type != domain.EventMessageUpdated || last.Message.Content != "fixed" {
		t.Fatalf("event %s", last.Type)
	}

	_, err = e.edit.Handle(e.ctx, owner, res.Message.ID(), domain.MessageEdit{Content: ptr("owner's words")})
	wantErr(t, err, domain.ErrForbidden, "not-message-author")
	_, err = e.edit.Handle(e.ctx, member, res.Reply.ID(), domain.MessageEdit{Content: ptr("better reply")})
	wantErr(t, err, domain.ErrForbidden, "not-message-author")
	_, err = e.edit.Handle(e.ctx, member, res.Message.ID(), domain.MessageEdit{Content: ptr("")})
	wantErr(t, err, domain.ErrInvalid, "invalid-field")
	if got := e.stored(res.Message.ID()).Content(); got != "fixed" {
		t.Fatalf("content %q after refused edits", got)
	}
	if len(e.bus.Published(s.ID())) != events+1 {
		t.Fatal("refused edits published")
	}
}

func TestStatsScope(t *testing.T) {
	e := newEnv(t)
	owner, other := e.user("owner"), e.user("other")
	s := e.session(owner, "t")
	e.session(other, "theirs")
	e.model.OnStream(fakes.Reply(fakes.Stop("m", 3, 4), "reply"))
	e.final(s.ID(), e.ask(s, owner, "q").Reply.ID())

	mine, err := e.stats.Handle(e.ctx, owner, false)
	must(t, err)
	if mine.TotalSessions != 1 || mine.TotalMessages != 2 || mine.TotalTokens != 7 ||
		mine.MessagesByRole[domain.RoleAssistant] != 1 || mine.MessagesByRole[domain.RoleSystem] != 0 {
		t.Fatalf("own stats %+v", mine)
	}
	_, err = e.stats.Handle(e.ctx, owner, true)
	wantErr(t, err, domain.ErrForbidden, "admin-only")

	all, err := e.stats.Handle(e.ctx, app.Caller{UserID: owner.UserID, Role: domain.UserRoleAdmin}, true)
	must(t, err)
	if all.TotalSessions != 2 || all.TotalMessages != 2 {
		t.Fatalf("deployment stats %+v", all)
	}
}
