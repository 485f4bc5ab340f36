package app_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports/fakes"
)

// env is every use case wired to fakes of its ports, as app.Module wires
// them to adapters.
type env struct {
	t   *testing.T
	ctx context.Context

	store    *fakes.Store
	users    *fakes.UserRepo
	sessions *fakes.SessionRepo
	messages *fakes.MessageRepo
	bus      *fakes.Bus
	control  *fakes.ReplyControl
	slots    *fakes.GenerationSlots
	model    *fakes.ChatModel
	limiter  *fakes.RateLimiter
	clock    *fakes.Clock
	ids      *fakes.IDs
	hasher   *fakes.Hasher
	issuer   *fakes.TokenIssuer
	cfg      app.GenerationConfig
	limits   app.Limits

	access   *app.Access
	gen      *app.Generator
	send     *app.SendMessage
	process  *app.ProcessLLM
	regen    *app.Regenerate
	delete   *app.DeleteMessage
	cancel   *app.CancelGeneration
	create   *app.CreateSession
	update   *app.UpdateSession
	remove   *app.DeleteSession
	list     *app.ListMessages
	parts    *app.Participants
	edit     *app.UpdateMessage
	stats    *app.GetStats
	accounts *app.Accounts
	register *app.Register
	login    *app.Login
	refresh  *app.Refresh
	logout   *app.Logout

	stopOnce sync.Once
}

type envOption func(*envSetup)

type envSetup struct {
	cfg     app.GenerationConfig
	noStart bool
}

// withConfig changes the generation config before anything is built.
func withConfig(f func(*app.GenerationConfig)) envOption {
	return func(s *envSetup) { f(&s.cfg) }
}

// unstarted leaves the Generator unstarted (and unstopped): for tests of Start.
func unstarted() envOption { return func(s *envSetup) { s.noStart = true } }

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	setup := envSetup{cfg: app.GenerationConfig{
		MaxConcurrentPerUser:   4,
		FlushInterval:          time.Hour, // tests that look at flushes set their own
		ShutdownTimeout:        5 * time.Second,
		DefaultContextMessages: 50,
	}}
	for _, o := range opts {
		o(&setup)
	}
	store := fakes.NewStore()
	e := &env{
		t: t, ctx: t.Context(),
		store: store, users: store.Users(), sessions: store.Sessions(), messages: store.Messages(),
		bus: fakes.NewBus(), control: &fakes.ReplyControl{}, slots: fakes.NewGenerationSlots(), model: fakes.NewChatModel(), limiter: fakes.NewRateLimiter(),
		clock: fakes.NewClock(time.Time{}), ids: fakes.NewIDs(), hasher: fakes.NewHasher(),
		cfg: setup.cfg, limits: app.Limits{MaxMessageChars: 1000},
	}
	e.issuer = fakes.NewTokenIssuer(e.clock.Now)
	log := slog.New(slog.NewTextHandler(newTestLog(t), &slog.HandlerOptions{Level: slog.LevelDebug}))

	e.access = app.NewAccess(e.sessions, e.bus, e.clock, e.cfg)
	announce := app.NewAnnouncer(e.bus, log)
	e.gen = app.NewGenerator(e.model, e.messages, e.sessions, e.bus, e.control, e.limiter, e.slots, store.Stats(), e.ids, e.clock, log, e.cfg)
	e.send = app.NewSendMessage(e.access, e.messages, store.Idempotency(), e.gen, announce, e.ids, e.clock, e.limits)
	e.process = app.NewProcessLLM(e.access, e.messages, e.gen, e.ids, e.clock, e.limits)
	e.regen = app.NewRegenerate(e.access, e.messages, e.gen)
	e.delete = app.NewDeleteMessage(e.access, e.messages, announce, e.gen, e.clock)
	e.cancel = app.NewCancelGeneration(e.access, e.messages, e.gen, announce, e.clock)
	e.create = app.NewCreateSession(e.sessions, e.ids, e.clock)
	e.update = app.NewUpdateSession(e.access, e.sessions, e.messages, announce, e.clock)
	e.remove = app.NewDeleteSession(e.access, e.sessions, announce, e.gen)
	e.list = app.NewListMessages(e.access, e.messages, e.bus, e.clock)
	e.parts = app.NewParticipants(e.access, e.sessions, e.users, announce, e.clock)
	e.edit = app.NewUpdateMessage(e.access, e.messages, announce, e.clock, e.limits)
	e.stats = app.NewGetStats(store.Stats())
	e.accounts = app.NewAccounts(e.users, e.hasher, e.ids, e.clock)
	e.register = app.NewRegister(e.accounts, e.issuer, store.RefreshTokens(), e.ids, e.clock)
	e.login = app.NewLogin(e.users, e.hasher, e.issuer, store.RefreshTokens(), e.ids, e.clock)
	e.refresh = app.NewRefresh(e.issuer, store.RefreshTokens(), e.users, e.ids, e.clock)
	e.logout = app.NewLogout(e.issuer, store.RefreshTokens(), e.clock)

	if !setup.noStart {
		if err := e.gen.Start(e.ctx); err != nil {
			t.Fatalf("start generator: %v", err)
		}
		t.Cleanup(func() { e.stop() })
	}
	return e
}

// testLog keeps the Generator's log and shows it when the test failed. A
// goroutine may still log after the test ended (a stop whose context
// expired returns before its runs do), which t.Log would not allow.
type testLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func newTestLog(t *testing.T) *testLog {
	l := &testLog{}
	t.Cleanup(func() {
		if t.Failed() {
			l.mu.Lock()
			t.Log("generator log:\n" + l.buf.String())
			l.mu.Unlock()
		}
	})
	return l
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// stop stops the Generator once, within a bound.
func (e *env) stop() {
	e.t.Helper()
	e.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.gen.Stop(ctx); err != nil {
			e.t.Errorf("stop generator: %v", err)
		}
	})
}

// user creates an account and returns it as a caller.
func (e *env) user(name string) app.Caller {
	e.t.Helper()
	u, err := domain.NewUser(e.ids.NewID(), name+"@example.com", name, "fake$none", domain.UserRoleUser, e.clock.Now())
	must(e.t, err)
	must(e.t, e.users.Create(e.ctx, u))
	return app.Caller{UserID: u.ID(), Role: u.Role()}
}

// session creates a session owned by owner with the given title.
func (e *env) session(owner app.Caller, title string, settings ...domain.Settings) *domain.ChatSession {
	e.t.Helper()
	cmd := app.CreateSessionCmd{Title: title, Provider: domain.ProviderLocal, Model: "llama3.2"}
	if len(settings) > 0 {
		cmd.Settings = settings[0]
	}
	s, err := e.create.Handle(e.ctx, owner, cmd)
	must(e.t, err)
	return s
}

// join makes u a participant of the session with the role.
func (e *env) join(s *domain.ChatSession, u app.Caller, role domain.ParticipantRole) {
	e.t.Helper()
	must(e.t, e.sessions.AddParticipant(e.ctx, domain.Participant{
		SessionID: s.ID(), UserID: u.UserID, Role: role, CreatedAt: e.clock.Now(),
	}))
}

// post sends a message without asking for a reply.
func (e *env) post(s *domain.ChatSession, u app.Caller, content string) *domain.ChatMessage {
	e.t.Helper()
	res, err := e.send.Handle(e.ctx, u, app.SendMessageCmd{SessionID: s.ID(), Content: content, Role: domain.RoleUser})
	must(e.t, err)
	return res.Message
}

// ask sends a message asking for a reply and returns both.
func (e *env) ask(s *domain.ChatSession, u app.Caller, content string) app.SendResult {
	e.t.Helper()
	res, err := e.send.Handle(e.ctx, u, app.SendMessageCmd{
		SessionID: s.ID(), Content: content, Role: domain.RoleUser, ProcessLLM: true,
	})
	must(e.t, err)
	if res.Reply == nil {
		e.t.Fatal("a post with process_llm answered no reply")
	}
	return res
}

// final waits for the message's final event and returns it.
func (e *env) final(sessionID, messageID string) domain.SessionEvent {
	e.t.Helper()
	var out domain.SessionEvent
	e.eventually("the final event of "+messageID, func() bool {
		for _, ev := range e.bus.Published(sessionID) {
			if ev.Message != nil && ev.Message.ID == messageID && ev.Message.Status.IsFinal() &&
				ev.Type != domain.EventMessageCreated {
				out = ev
				return true
			}
		}
		return false
	})
	return out
}

// stored returns the message as storage holds it.
func (e *env) stored(id string) *domain.ChatMessage {
	e.t.Helper()
	m, err := e.messages.Get(e.ctx, id)
	must(e.t, err)
	return m
}

func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// started waits until the stepper's stream was called.
func started(t *testing.T, s *fakes.Stepper) {
	t.Helper()
	select {
	case <-s.Started():
	case <-time.After(5 * time.Second):
		t.Fatal("the model was never called")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantErr checks that err is a domain error of the kind and code.
func wantErr(t *testing.T, err error, kind domain.ErrorKind, code string) {
	t.Helper()
	de, ok := domain.AsError(err)
	if !ok {
		t.Fatalf("error = %v, want a domain error %s/%s", err, kind, code)
	}
	if de.Kind != kind || de.Code != code {
		t.Fatalf("error = %s/%s (%v), want %s/%s", de.Kind, de.Code, err, kind, code)
	}
}

// retryAfter is the Retry-After a rate-limit error carries.
func retryAfter(err error) time.Duration {
	if de, ok := domain.AsError(err); ok {
		return de.RetryAfter
	}
	return 0
}

// types lists the events' types, for order checks.
func types(events []domain.SessionEvent) []string {
	out := make([]string, len(events))
	for i, ev := range events {
		out[i] = string(ev.Type)
	}
	return out
}

// deltaText concatenates the message's delta events with seq <= upTo (all
// when upTo < 0).
func deltaText(events []domain.SessionEvent, messageID string, upTo int64) string {
	var b strings.Builder
	for _, ev := range events {
		if ev.Type == domain.EventMessageDelta && ev.Delta.MessageID == messageID && (upTo < 0 || ev.Seq <= upTo) {
			b.WriteString(ev.Delta.Delta)
		}
	}
	return b.String()
}

func ptr[T any](v T) *T { return &v }

// deref is *p, or nil: comparable with == either way.
func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// errFlaky is a storage failure that is not a domain error.
var errFlaky = errors.New("connection reset by peer")

// failOn makes the store fail the named operation with err the next n times
// (n < 0: always).
func failOn(store *fakes.Store, op string, n int, err error) {
	var mu sync.Mutex
	store.SetFault(func(got string) error {
		mu.Lock()
		defer mu.Unlock()
		if got != op || n == 0 {
			return nil
		}
		n--
		return err
	})
}

// barrier makes the first n callers of the named store operation wait for
// each other, so they are all past their earlier steps before any goes on.
func barrier(store *fakes.Store, op string, n int) {
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	store.SetFault(func(got string) error {
		if got != op {
			return nil
		}
		mu.Lock()
		arrived++
		switch {
		case arrived == n:
			close(all)
		case arrived > n:
			mu.Unlock()
			return nil
		}
		mu.Unlock()
		select {
		case <-all:
			return nil
		case <-time.After(5 * time.Second):
			return fmt.Errorf("barrier %s: not all %d callers arrived", op, n)
		}
	})
}
