package fakes

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
	"github.com/chatd/chatd/internal/ports/portstest"
)

// These tests pin the semantics the use cases rely on, the same rules the
// storage contract suite (adapters/storage/storagetest) checks on the real
// repositories.

type fixture struct {
	t     *testing.T
	ctx   context.Context
	store *Store
	ids   *IDs
	clock *Clock
}

func newFixture(t *testing.T) *fixture {
	return &fixture{t: t, ctx: t.Context(), store: NewStore(), ids: NewIDs(), clock: NewClock(time.Time{})}
}

func (f *fixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) user(email string) *domain.User {
	f.t.Helper()
	u, err := domain.NewUser(f.ids.NewID(), email, "U", "h", domain.UserRoleUser, f.clock.Now())
	f.must(err)
	f.must(f.store.Users().Create(f.ctx, u))
	return u
}

func (f *fixture) session(owner *domain.User) *domain.ChatSession {
	f.t.Helper()
	s, err := domain.NewChatSession(domain.NewSessionParams{
		ID: f.ids.NewID(), OwnerID: owner.ID(), Provider: domain.ProviderLocal, Model: "m", Now: f.clock.Now(),
	})
	f.must(err)
	f.must(f.store.Sessions().Create(f.ctx, s))
	return s
}

func (f *fixture) turn(s *domain.ChatSession, author *domain.User, reply bool) ports.NewTurn {
	f.t.Helper()
	m, err := domain.NewPostedMessage(f.ids.NewID(), s.ID(), author.ID(), nil, domain.RoleUser, "hi", 100, s, f.clock.Now())
	f.must(err)
	t := ports.NewTurn{Message: m}
	if reply {
		id := m.ID()
		t.Reply, err = domain.NewReplyPlaceholder(f.ids.NewID(), s.ID(), author.ID(), &id, s.Provider(), s.Model(), f.clock.Now())
		f.must(err)
	}
	return t
}

func kindCode(err error) string {
	if de, ok := domain.AsError(err); ok {
		return de.Kind.String() + "/" + de.Code
	}
	if err == nil {
		return "nil"
	}
	return "plain"
}

func TestUsers(t *testing.T) {
	f := newFixture(t)
	u := f.user("a@example.com")
	f.must(f.store.Users().Create(f.ctx, u)) // a retried insert
	other, _ := domain.NewUser(f.ids.NewID(), "a@example.com", "Other", "h", domain.UserRoleUser, f.clock.Now())
	if got := kindCode(f.store.Users().Create(f.ctx, other)); got != "conflict/email-taken" {
		t.Fatalf("taken email: %s", got)
	}
	if _, err := f.store.Users().GetByID(f.ctx, "A"+u.ID()[1:]); kindCode(err) != "not-found/user-not-found" {
		t.Fatalf("odd spelling: %v", err)
	}
	got, err := f.store.Users().GetByEmail(f.ctx, "a@example.com")
	f.must(err)
	if got.ID() != u.ID() || !got.CreatedAt().Equal(u.CreatedAt().Truncate(time.Millisecond)) {
		t.Fatalf("got %v %v", got.ID(), got.CreatedAt())
	}
}

func TestSessionsAndParticipants(t *testing.T) {
	f := newFixture(t)
	owner, ada := f.user("o@example.com"), f.user("a@example.com")
	ghost, _ := domain.NewUser(f.ids.NewID(), "g@example.com", "G", "h", domain.UserRoleUser, f.clock.Now())
	orphan, _ := domain.NewChatSession(domain.NewSessionParams{ID: f.ids.NewID(), OwnerID: ghost.ID(), Provider: domain.ProviderLocal, Model: "m"})
	if got := kindCode(f.store.Sessions().Create(f.ctx, orphan)); got != "not-found/user-not-found" {
		t.Fatalf("session of a missing owner: %s", got)
	}
	s := f.session(owner)
	sessions := f.store.Sessions()

	add := func(sessionID, userID string, role domain.ParticipantRole) string {
		return kindCode(sessions.AddParticipant(f.ctx, domain.Participant{SessionID: sessionID, UserID: userID, Role: role, CreatedAt: f.clock.Advance(time.Second)}))
	}
	for name, tc := range map[string]struct{ got, want string }{
		"member":          {add(s.ID(), ada.ID(), domain.ParticipantMember), "nil"},
		"again":           {add(s.ID(), ada.ID(), domain.ParticipantViewer), "conflict/already-participant"},
		"missing user":    {add(s.ID(), ghost.ID(), domain.ParticipantViewer), "not-found/user-not-found"},
		"missing session": {add(f.ids.NewID(), ada.ID(), domain.ParticipantViewer), "not-found/session-not-found"},
		"odd session id":  {add("nope", ada.ID(), domain.ParticipantViewer), "not-found/session-not-found"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %s, want %s", name, tc.got, tc.want)
		}
	}
	ps, err := sessions.Participants(f.ctx, s.ID())
	f.must(err)
	if len(ps) != 2 || ps[0].Role != domain.ParticipantOwner || ps[1].UserID != ada.ID() {
		t.Fatalf("participants %+v", ps)
	}
	if _, err := sessions.Participant(f.ctx, s.ID(), f.ids.NewID()); kindCode(err) != "not-found/participant-not-found" {
		t.Fatalf("non-participant: %v", err)
	}

	// Update runs fn on a copy and stores it whole, or nothing.
	_, err = sessions.Update(f.ctx, s.ID(), func(cs *domain.ChatSession) error {
		_ = cs.Apply(domain.SessionPatch{Title: ptr("changed")}, f.clock.Now())
		return errors.New("abort")
	})
	if err == nil {
		t.Fatal("fn's error was lost")
	}
	if got, _ := sessions.Get(f.ctx, s.ID()); got.Title() != "" {
		t.Fatal("an aborted update was stored")
	}
	f.must(f.store.Messages().CreateTurn(f.ctx, f.turn(s, owner, false)))
	updated, err := sessions.Update(f.ctx, s.ID(), func(cs *domain.ChatSession) error {
		return cs.Apply(domain.SessionPatch{Title: ptr("t")}, f.clock.Now())
	})
	f.must(err)
	if updated.Title() != "t" || updated.MessageCount() != 1 {
		t.Fatalf("updated %+v", updated.Snapshot())
	}

	// Lists by activity, newest first.
	older := f.session(owner)
	f.clock.Advance(time.Hour)
	f.must(f.store.Messages().CreateTurn(f.ctx, f.turn(older, owner, false)))
	list, total, err := sessions.ListForUser(f.ctx, owner.ID(), ports.SessionFilter{}, ports.Page{Number: 1, Size: 1})
	f.must(err)
	if total != 2 || len(list) != 1 || list[0].ID() != older.ID() {
		t.Fatalf("list %d of %d", len(list), total)
	}

	f.must(sessions.RemoveParticipant(f.ctx, s.ID(), ada.ID()))
	if got := kindCode(sessions.RemoveParticipant(f.ctx, s.ID(), ada.ID())); got != "not-found/participant-not-found" {
		t.Fatalf("second removal: %s", got)
	}
}

func TestCreateTurnIsAtomic(t *testing.T) {
	f := newFixture(t)
	owner := f.user("o@example.com")
	s := f.session(owner)
	messages := f.store.Messages()

	first := f.turn(s, owner, true)
	first.Idempotency = &domain.IdempotencyRecord{UserID: owner.ID(), Key: "k", RequestHash: "h", UserMessageID: first.Message.ID()}
	f.clock.Advance(time.Minute)
	f.must(messages.CreateTurn(f.ctx, first))
	f.must(messages.CreateTurn(f.ctx, ports.NewTurn{Message: first.Message, Reply: first.Reply})) // stored twice, counted once

	second := f.turn(s, owner, true)
	second.Idempotency = &domain.IdempotencyRecord{UserID: owner.ID(), Key: "k", RequestHash: "h2", UserMessageID: second.Message.ID()}
	if got := kindCode(messages.CreateTurn(f.ctx, second)); got != "conflict/idempotency-key-exists" {
		t.Fatalf("reused key: %s", got)
	}
	if n := f.store.MessageCount(); n != 2 {
		t.Fatalf("%d messages stored, want nothing from the refused turn", n)
	}
	got, err := f.store.Sessions().Get(f.ctx, s.ID())
	f.must(err)
	if got.MessageCount() != 2 || got.LastMessageAt() == nil {
		t.Fatalf("count %d, last %v", got.MessageCount(), got.LastMessageAt())
	}
	rec, err := f.store.Idempotency().Get(f.ctx, owner.ID(), "k")
	f.must(err)
	if rec.RequestHash != "h" {
		t.Fatalf("record %+v", rec)
	}
	if _, err := f.store.Idempotency().Get(f.ctx, owner.ID(), "other"); kindCode(err) != "not-found/idempotency-key-not-found" {
		t.Fatalf("unknown key: %v", err)
	}
	missing := f.turn(s, owner, false)
	snap := missing.Message.Snapshot()
	snap.SessionID = f.ids.NewID()
	if got := kindCode(messages.CreateTurn(f.ctx, ports.NewTurn{Message: domain.RehydrateMessage(snap)})); got != "not-found/session-not-found" {
		t.Fatalf("turn of a missing session: %s", got)
	}

	// Turns follow the current message; Ancestors walks back, oldest first.
	for range 3 {
		f.clock.Advance(time.Second)
		f.must(messages.CreateTurn(f.ctx, f.turn(s, owner, false)))
	}
	all := f.store.SessionMessages(s.ID())
	recent, err := messages.Ancestors(f.ctx, all[4].ID(), 2)
	f.must(err)
	if len(recent) != 2 || recent[0].ID() != all[3].ID() || recent[1].ID() != all[4].ID() {
		t.Fatal("Ancestors is not the last two of the path, oldest first")
	}

	// Delete takes the messages and their idempotency records along.
	f.must(f.store.Sessions().Delete(f.ctx, s.ID()))
	if f.store.MessageCount() != 0 {
		t.Fatal("messages survived their session")
	}
	if _, err := f.store.Idempotency().Get(f.ctx, owner.ID(), "k"); !domain.IsKind(err, domain.ErrNotFound) {
		t.Fatal("an idempotency record survived its message")
	}
}

func TestMessagesSaveUpdateAndRepair(t *testing.T) {
	f := newFixture(t)
	owner := f.user("o@example.com")
	s := f.session(owner)
	turn := f.turn(s, owner, true)
	f.must(f.store.Messages().CreateTurn(f.ctx, turn))
	reply := turn.Reply

	// Stored values are copies: neither the caller's entity nor one read
	// back reaches the store.
	f.must(reply.StartStreaming(f.clock.Now()))
	if got := f.store.Message(reply.ID()); got.Status() != domain.StatusPending {
		t.Fatalf("the caller's entity changed the store: %s", got.Status())
	}
	read, err := f.store.Messages().Get(f.ctx, reply.ID())
	f.must(err)
	read.Metadata()["x"] = 1
	if _, ok := f.store.Message(reply.ID()).Metadata()["x"]; ok {
		t.Fatal("a read message aliases the store")
	}

	f.must(reply.RecordProgress("so far", f.clock.Now()))
	f.must(f.store.Messages().Save(f.ctx, reply))
	if got := f.store.Message(reply.ID()); got.Content() != "so far" || got.Status() != domain.StatusStreaming {
		t.Fatalf("saved %+v", got.Snapshot())
	}

	// A row the database would refuse is refused.
	bad := reply.Snapshot()
	bad.ResponseTimeMs = ptr(-1)
	if err := f.store.Messages().Save(f.ctx, domain.RehydrateMessage(bad)); err == nil {
		t.Fatal("a negative response time was stored")
	}
	bad = reply.Snapshot()
	bad.Content = "a\x00b"
	if err := f.store.Messages().Save(f.ctx, domain.RehydrateMessage(bad)); err == nil {
		t.Fatal("NUL was stored")
	}

	at := f.clock.Advance(time.Hour)
	repaired, err := f.store.Messages().RepairLapsed(f.ctx, at, at, "")
	f.must(err)
	got := f.store.Message(reply.ID())
	if n := len(repaired); n != 1 || got.Status() != domain.StatusInterrupted || got.Content() != "so far" || *got.ErrorMessage() != domain.InterruptedReason {
		t.Fatalf("repaired %d: %+v", len(repaired), got.Snapshot())
	}

	_, err = f.store.Messages().Update(f.ctx, reply.ID(), func(m *domain.ChatMessage) error {
		return m.Cancel("x", domain.GenerationResult{}, f.clock.Now())
	})
	if kindCode(err) != "conflict/message-not-generating" {
		t.Fatalf("cancel of a final message in Update: %v", err)
	}
	gone := reply.Snapshot()
	gone.ID = f.ids.NewID()
	if got := kindCode(f.store.Messages().Save(f.ctx, domain.RehydrateMessage(gone))); got != "not-found/message-not-found" {
		t.Fatalf("save of a missing message: %s", got)
	}
}

func TestFaultsAndCalls(t *testing.T) {
	f := newFixture(t)
	boom := errors.New("boom")
	f.store.SetFault(func(op string) error {
		if op == "users.GetByEmail" {
			return boom
		}
		return nil
	})
	if _, err := f.store.Users().GetByEmail(f.ctx, "x"); !errors.Is(err, boom) {
		t.Fatalf("fault not applied: %v", err)
	}
	f.store.SetFault(nil)
	if _, err := f.store.Users().GetByEmail(f.ctx, "x"); !domain.IsKind(err, domain.ErrNotFound) {
		t.Fatalf("after the fault: %v", err)
	}
	if f.store.Calls("users.GetByEmail") != 2 {
		t.Fatalf("calls %d", f.store.Calls("users.GetByEmail"))
	}
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	if _, err := f.store.Users().GetByEmail(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled context: %v", err)
	}
}

func TestMarkUsedOnce(t *testing.T) {
	f := newFixture(t)
	u := f.user("o@example.com")
	tokens := f.store.RefreshTokens()
	tok := domain.RefreshToken{ID: f.ids.NewID(), FamilyID: "fam", UserID: u.ID(), TokenHash: "h", ExpiresAt: f.clock.Now().Add(time.Hour)}
	f.must(tokens.Create(f.ctx, tok))
	var wins sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range 16 {
		wins.Go(func() {
			ok, err := tokens.MarkUsed(f.ctx, tok.ID, f.clock.Now())
			if err == nil && ok {
				mu.Lock()
				won++
				mu.Unlock()
			}
		})
	}
	wins.Wait()
	if won != 1 {
		t.Fatalf("%d winners", won)
	}
	first := f.clock.Now()
	f.must(tokens.RevokeFamily(f.ctx, "fam", first))
	f.must(tokens.RevokeFamily(f.ctx, "fam", first.Add(time.Hour)))
	got, err := tokens.GetByHash(f.ctx, "h")
	f.must(err)
	if got.UsedAt == nil || !got.RevokedAt.Equal(first.Truncate(time.Millisecond)) {
		t.Fatalf("token %+v", got)
	}
	if _, err := tokens.GetByHash(f.ctx, "other"); kindCode(err) != "not-found/refresh-token-not-found" {
		t.Fatalf("unknown hash: %v", err)
	}
}

func TestBusContract(t *testing.T) {
	portstest.RunSessionEvents(t, func(*testing.T) (ports.SessionEvents, ports.ReplyControl) {
		b := NewBus()
		b.SetWindow(portstest.ReplayWindow)
		return b, &ReplyControl{}
	})
}

// TestBusReplayAndSubscriptions covers what only the fake has: seqs from 1,
// an unbounded window until SetWindow, and the records tests assert on.
func TestBusReplayAndSubscriptions(t *testing.T) {
	ctx := context.Background()
	b := NewBus()
	const s = "s"
	ev := func() domain.SessionEvent { return domain.SessionEvent{Type: domain.EventMessageDelta, SessionID: s} }
	for i := 1; i <= 5; i++ {
		if got, _ := b.Publish(ctx, ev()); got.Seq != int64(i) {
			t.Fatalf("seq %d, want %d", got.Seq, i)
		}
	}
	seqs := func(r ports.Resume) []int64 {
		var out []int64
		for _, e := range r.Backlog {
			out = append(out, e.Seq)
		}
		return out
	}
	if r, _ := b.Replay(ctx, s, 0); !r.Complete || !slices.Equal(seqs(r), []int64{1, 2, 3, 4, 5}) {
		t.Fatalf("replay from nothing: %+v", r)
	}
	b.SetWindow(2)
	if r, _ := b.Replay(ctx, s, 2); r.Complete {
		t.Fatalf("a replay past the window is complete: %v", seqs(r))
	}
	if r, _ := b.Replay(ctx, s, 3); !r.Complete || !slices.Equal(seqs(r), []int64{4, 5}) {
		t.Fatalf("replay within the window: %+v", r)
	}

	sub, _, _ := b.Subscribe(ctx, s, -1, 8)
	_, _ = b.Publish(ctx, ev())
	_ = b.Signal(ctx, domain.SessionEvent{Type: domain.EventTyping, SessionID: s, Seq: 99})
	if b.Subscribers(s) != 1 {
		t.Fatalf("%d subscribers", b.Subscribers(s))
	}
	_ = b.Close(ctx, s)
	if n := len(b.Published(s)); n != 6 || len(b.Signals(s)) != 1 || b.Signals(s)[0].Seq != 0 || b.Closed(s) != 1 || b.Subscribers(s) != 0 {
		t.Fatalf("records are off: %d published, signals %+v, closed %d", n, b.Signals(s), b.Closed(s))
	}
	if r, _ := b.Replay(ctx, s, 5); r.Complete || r.LastSeq != 6 {
		t.Fatalf("Close forgets the events but keeps the seq: %+v", r)
	}
	if got, _ := b.Publish(ctx, ev()); got.Seq != 7 {
		t.Fatalf("seq after Close: %d", got.Seq)
	}
	sub.Close()
}

func TestSystemFakes(t *testing.T) {
	ids := NewIDs()
	a, b := ids.NewID(), ids.NewID()
	if _, ok := domain.ParseID(a); !ok || a >= b {
		t.Fatalf("ids %q %q", a, b)
	}

	c := NewClock(time.Time{})
	if !c.Now().Equal(Epoch) || !c.Advance(time.Second).Equal(Epoch.Add(time.Second)) {
		t.Fatal("clock")
	}

	h := NewHasher()
	hash, _ := h.Hash("pw")
	if ok, _ := h.Verify(hash, "pw"); !ok {
		t.Fatal("verify")
	}
	if ok, _ := h.Verify(hash, "other"); ok {
		t.Fatal("a wrong password verified")
	}
	if _, err := h.Verify("$argon2id$...", "pw"); err == nil {
		t.Fatal("a foreign hash verified")
	}

	issuer := NewTokenIssuer(c.Now)
	token, ttl, _ := issuer.IssueAccess("u", domain.UserRoleAdmin, c.Now())
	if claims, err := issuer.VerifyAccess(token); err != nil || claims.UserID != "u" || claims.Role != domain.UserRoleAdmin {
		t.Fatalf("claims %+v %v", claims, err)
	}
	c.Advance(ttl)
	if _, err := issuer.VerifyAccess(token); kindCode(err) != "unauthenticated/invalid-token" {
		t.Fatalf("expired token: %v", err)
	}
	refresh, hash2, _ := issuer.NewRefresh()
	if issuer.HashRefresh(refresh) != hash2 {
		t.Fatal("refresh hash")
	}

	l := NewRateLimiter()
	l.AllowFirst(1, time.Second)
	ok1, _, _ := l.Allow(context.Background(), "k", ports.Rate{}, c.Now())
	ok2, retry, _ := l.Allow(context.Background(), "k", ports.Rate{}, c.Now())
	ok3, _, _ := l.Allow(context.Background(), "other", ports.Rate{}, c.Now())
	if !ok1 || ok2 || retry != time.Second || !ok3 || len(l.Calls()) != 3 {
		t.Fatal("rate limiter")
	}
}

func TestChatModelScripts(t *testing.T) {
	m := NewChatModel()
	if _, err := m.Stream(t.Context(), ports.CompletionRequest{}, func(ports.Delta) error { return nil }); !errors.Is(err, ErrUnscripted) {
		t.Fatalf("unscripted: %v", err)
	}
	step := NewStepper()
	m.OnStream(step.Stream)
	ctx, cancel := context.WithCancelCause(t.Context())
	cause := errors.New("stop it")
	var got []string
	done := make(chan error)
	go func() {
		_, err := m.Stream(ctx, ports.CompletionRequest{Model: "x"}, func(d ports.Delta) error {
			got = append(got, d.Content)
			return nil
		})
		done <- err
	}()
	<-step.Started()
	if err := step.Text("a"); err != nil {
		t.Fatal(err)
	}
	cancel(cause)
	if err := <-done; !errors.Is(err, cause) || !errors.Is(step.CancelCause(), cause) {
		t.Fatalf("stream ended with %v", err)
	}
	if err := step.Text("late"); !errors.Is(err, ErrStreamEnded) {
		t.Fatalf("after the end: %v", err)
	}
	if !slices.Equal(got, []string{"a"}) || step.Request().Model != "x" || len(m.StreamRequests()) != 2 {
		t.Fatalf("got %q", got)
	}
}

func ptr[T any](v T) *T { return &v }
