package app_test

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
	"github.com/chatd/chatd/internal/ports/fakes"
)

func TestSendWithoutReplyStoresAndAnnounces(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")

	first := e.post(s, owner, "first")
	e.clock.Advance(time.Second)
	second := e.post(s, owner, "second")

	if first.ParentID() != nil {
		t.Fatalf("the first message has parent %v", *first.ParentID())
	}
	if second.ParentID() == nil || *second.ParentID() != first.ID() {
		t.Fatal("a message does not follow the session's newest one")
	}
	got := e.stored(second.ID())
	if got.Content() != "second" || got.Status() != domain.StatusCompleted || got.Role() != domain.RoleUser ||
		got.UserID() != owner.UserID || got.Provider() != domain.ProviderLocal || got.Model() != "llama3.2" {
		t.Fatalf("stored %+v", got.Snapshot())
	}
	events := e.bus.Published(s.ID())
	if !reflect.DeepEqual(types(events), []string{"message.created", "message.created"}) {
		t.Fatalf("events %v", types(events))
	}
	if events[1].Message.ID != second.ID() || events[1].Seq != events[0].Seq+1 {
		t.Fatalf("second event %+v", events[1])
	}
	session, err := e.sessions.Get(e.ctx, s.ID())
	must(t, err)
	if session.MessageCount() != 2 || session.LastMessageAt() == nil ||
		!session.LastMessageAt().Equal(e.clock.Now().Truncate(time.Millisecond)) {
		t.Fatalf("session count %d, last message at %v", session.MessageCount(), session.LastMessageAt())
	}
	if n := len(e.model.StreamRequests()); n != 0 {
		t.Fatalf("a post without process_llm called the model %d times", n)
	}
}

func TestSendRefusesInvalidContentAndStoresNothing(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")
	for name, cmd := range map[string]app.SendMessageCmd{
		"empty":            {Content: "", Role: domain.RoleUser},
		"too long":         {Content: strings.Repeat("é", e.limits.MaxMessageChars+1), Role: domain.RoleUser},
		"NUL":              {Content: "a\x00b", Role: domain.RoleUser},
		"invalid UTF-8":    {Content: "a\xffb", Role: domain.RoleUser},
		"assistant role":   {Content: "I am the model", Role: domain.RoleAssistant},
		"empty with reply": {Content: "", Role: domain.RoleUser, ProcessLLM: true},
		"bad key":          {Content: "ok", Role: domain.RoleUser, IdempotencyKey: strings.Repeat("k", 256)},
	} {
		cmd.SessionID = s.ID()
		_, err := e.send.Handle(e.ctx, owner, cmd)
		if !domain.IsKind(err, domain.ErrInvalid) {
			t.Errorf("%s: error = %v, want invalid", name, err)
		}
	}
	if n := e.store.MessageCount(); n != 0 {
		t.Fatalf("%d messages stored", n)
	}
	if n := len(e.bus.Published(s.ID())); n != 0 {
		t.Fatalf("%d events published", n)
	}
	// Exactly at the limit, in characters rather than bytes, is fine.
	e.post(s, owner, strings.Repeat("é", e.limits.MaxMessageChars))
}

// A post with a reply publishes, in seq order: the user message, the
// placeholder, each delta numbered from 0, then the final message, which is
// stored with the text the deltas carried.
func TestSendWithReplyPublishesEventsInOrder(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")
	earlier := e.post(s, owner, "earlier")
	e.model.OnStream(fakes.Reply(fakes.Stop("llama3.2:served", 12, 3), "Hel", "lo", "", " there"))

	res := e.ask(s, owner, "hi")
	if res.Replayed || res.Message.Content() != "hi" {
		t.Fatalf("result %+v", res)
	}
	if res.Reply.Status() != domain.StatusPending || res.Reply.Role() != domain.RoleAssistant ||
		res.Reply.ParentID() == nil || *res.Reply.ParentID() != res.Message.ID() ||
		res.Message.ParentID() == nil || *res.Message.ParentID() != earlier.ID() {
		t.Fatalf("reply %+v", res.Reply.Snapshot())
	}
	final := e.final(s.ID(), res.Reply.ID())

	events := e.bus.Published(s.ID())[1:] // after "earlier"
	want := []string{"message.created", "message.created", "message.delta", "message.delta", "message.delta", "message.completed"}
	if !reflect.DeepEqual(types(events), want) {
		t.Fatalf("events %v, want %v", types(events), want)
	}
	if events[0].Message.ID != res.Message.ID() || events[1].Message.ID != res.Reply.ID() ||
		events[1].Message.Status != domain.StatusPending {
		t.Fatal("created events out of order")
	}
	for i, ev := range events {
		if i > 0 && ev.Seq != events[i-1].Seq+1 {
			t.Fatalf("seq %d follows %d", ev.Seq, events[i-1].Seq)
		}
	}
	for i, ev := range events[2:5] {
		if ev.Delta.MessageID != res.Reply.ID() || ev.Delta.Index != i || ev.Delta.Delta == "" {
			t.Fatalf("delta %d = %+v", i, ev.Delta)
		}
	}
	if deltaText(events, res.Reply.ID(), -1) != "Hello there" {
		t.Fatalf("deltas carry %q", deltaText(events, res.Reply.ID(), -1))
	}
	if final.Message.Content != "Hello there" || final.Message.Status != domain.StatusCompleted {
		t.Fatalf("final %+v", final.Message)
	}
	stored := e.stored(res.Reply.ID())
	if stored.Content() != "Hello there" || stored.Status() != domain.StatusCompleted ||
		stored.Model() != "llama3.2:served" || *stored.TokensUsed() != 15 || stored.ErrorMessage() != nil {
		t.Fatalf("stored reply %+v", stored.Snapshot())
	}
	meta := stored.Metadata()
	if meta["finish_reason"] != "stop" || meta["prompt_tokens"] != float64(12) || meta["completion_tokens"] != float64(3) ||
		meta["usage_estimated"] != false || meta["model"] != "llama3.2:served" {
		t.Fatalf("metadata %v", meta)
	}
	session, err := e.sessions.Get(e.ctx, s.ID())
	must(t, err)
	if session.MessageCount() != 3 {
		t.Fatalf("message count %d, want 3", session.MessageCount())
	}
}

// The reply a post answers is a copy: whatever the caller does with it does
// not reach the running generation.
func TestSendAnswersACopyOfThePlaceholder(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")
	step := fakes.NewStepper()
	e.model.OnStream(step.Stream)

	res := e.ask(s, owner, "hi")
	started(t, step)
	_ = res.Reply.Cancel("caller scribbled here", domain.GenerationResult{}, e.clock.Now())
	must(t, step.Text("real"))
	must(t, step.Finish(fakes.Stop("m", 1, 1)))
	final := e.final(s.ID(), res.Reply.ID())
	if final.Message.Status != domain.StatusCompleted || final.Message.Content != "real" {
		t.Fatalf("final %+v", final.Message)
	}
}

func TestIdempotentReplayCreatesNothingAndCallsNoModel(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")
	e.model.OnStream(fakes.Reply(fakes.Stop("m", 1, 1), "once"))
	cmd := app.SendMessageCmd{SessionID: s.ID(), Content: "hi", Role: domain.RoleUser, ProcessLLM: true, IdempotencyKey: "key-1"}

	first, err := e.send.Handle(e.ctx, owner, cmd)
	must(t, err)
	e.final(s.ID(), first.Reply.ID())
	events := len(e.bus.Published(s.ID()))

	again, err := e.send.Handle(e.ctx, owner, cmd)
	must(t, err)
	if !again.Replayed || again.Message.ID() != first.Message.ID() || again.Reply.ID() != first.Reply.ID() {
		t.Fatalf("replay answered %+v", again)
	}
	if again.Reply.Content() != "once" || again.Reply.Status() != domain.StatusCompleted {
		t.Fatalf("replay answered the reply as %+v, want its stored state", again.Reply.Snapshot())
	}
	if n := len(e.model.StreamRequests()); n != 1 {
		t.Fatalf("model called %d times, want 1", n)
	}
	if n := e.store.MessageCount(); n != 2 {
		t.Fatalf("%d messages, want 2", n)
	}
	if n := len(e.bus.Published(s.ID())); n != events {
		t.Fatalf("a replay published %d events", n-events)
	}

	// The same key with another body is a conflict; another user's key is theirs.
	changed := cmd
	changed.Content = "something else"
	_, err = e.send.Handle(e.ctx, owner, changed)
	wantErr(t, err, domain.ErrConflict, "idempotency-key-reused")
	noReply := cmd
	noReply.ProcessLLM = false
	_, err = e.send.Handle(e.ctx, owner, noReply)
	wantErr(t, err, domain.ErrConflict, "idempotency-key-reused")

	member := e.user("member")
	e.join(s, member, domain.ParticipantMember)
	mine := cmd
	mine.ProcessLLM = false
	res, err := e.send.Handle(e.ctx, member, mine)
	must(t, err)
	if res.Replayed {
		t.Fatal("one user's key replayed another user's post")
	}
}

// Two posts race with one key: both find it unused, one stores, the other
// fails on the key and answers what the winner created. Only one reply
// generates, and the loser's concurrency slot is given back.
func TestIdempotentRaceLoserAnswersTheWinnersPost(t *testing.T) {
	e := newEnv(t, withConfig(func(c *app.GenerationConfig) { c.MaxConcurrentPerUser = 2 }))
	owner := e.user("owner")
	s := e.session(owner, "t")
	step := fakes.NewStepper()
	e.model.OnStream(step.Stream)
	cmd := app.SendMessageCmd{SessionID: s.ID(), Content: "hi", Role: domain.RoleUser, ProcessLLM: true, IdempotencyKey: "k"}

	barrier(e.store, "messages.CreateTurn", 2)
	var wg sync.WaitGroup
	results := make([]app.SendResult, 2)
	errs := make([]error, 2)
	for i := range results {
		wg.Go(func() { results[i], errs[i] = e.send.Handle(e.ctx, owner, cmd) })
	}
	wg.Wait()
	e.store.SetFault(nil)
	must(t, errs[0])
	must(t, errs[1])
	if results[0].Replayed == results[1].Replayed {
		t.Fatalf("replayed: %v and %v, want exactly one", results[0].Replayed, results[1].Replayed)
	}
	if results[0].Message.ID() != results[1].Message.ID() || results[0].Reply.ID() != results[1].Reply.ID() {
		t.Fatal("the racing posts answered different messages")
	}
	if n := e.store.MessageCount(); n != 2 {
		t.Fatalf("%d messages stored, want 2", n)
	}
	started(t, step)
	must(t, step.Finish(fakes.Stop("m", 1, 1)))
	e.final(s.ID(), results[0].Reply.ID())
	if n := len(e.model.StreamRequests()); n != 1 {
		t.Fatalf("model called %d times", n)
	}
	// Both slots are free again: two replies may run at once.
	holdTwoReplies(t, e, s, owner)
}

// holdTwoReplies starts two replies that wait, checks both were admitted,
// then lets them finish.
func holdTwoReplies(t *testing.T, e *env, s *domain.ChatSession, u app.Caller) {
	t.Helper()
	steps := []*fakes.Stepper{fakes.NewStepper(), fakes.NewStepper()}
	e.model.OnStream(steps[0].Stream, steps[1].Stream)
	var replies []string
	for range steps {
		replies = append(replies, e.ask(s, u, "again").Reply.ID())
	}
	// Which reply gets which stepper is up to the scheduler.
	for _, st := range steps {
		started(t, st)
	}
	for _, st := range steps {
		must(t, st.Finish(fakes.Stop("m", 1, 1)))
	}
	for _, id := range replies {
		e.final(s.ID(), id)
	}
}

// Over the concurrency limit a post answers 429 and stores nothing; the
// slot comes back when the running reply ends, not before.
func TestConcurrencyLimit(t *testing.T) {
	e := newEnv(t, withConfig(func(c *app.GenerationConfig) { c.MaxConcurrentPerUser = 1 }))
	owner, other := e.user("owner"), e.user("other")
	s := e.session(owner, "titled, so no naming runs after the reply")
	e.join(s, other, domain.ParticipantMember)
	step := fakes.NewStepper()
	e.model.OnStream(step.Stream)

	first := e.ask(s, owner, "one")
	started(t, step)
	stored, events, limited := e.store.MessageCount(), len(e.bus.Published(s.ID())), len(e.limiter.Calls())

	for _, try := range []func() error{
		func() error {
			_, err := e.send.Handle(e.ctx, owner, app.SendMessageCmd{SessionID: s.ID(), Content: "two", Role: domain.RoleUser, ProcessLLM: true})
			return err
		},
		func() error {
			_, err := e.process.Handle(e.ctx, owner, app.ProcessLLMCmd{SessionID: s.ID(), Prompt: ptr("two")})
			return err
		},
	} {
		err := try()
		wantErr(t, err, domain.ErrRateLimited, "too-many-generations")
		if retryAfter(err) <= 0 {
			t.Fatalf("no Retry-After: %v", retryAfter(err))
		}
	}
	if e.store.MessageCount() != stored || len(e.bus.Published(s.ID())) != events {
		t.Fatal("a refused post stored or published something")
	}
	if n := len(e.limiter.Calls()); n != limited {
		t.Fatalf("posts refused for concurrency spent the generation rate %d times", n-limited)
	}
	// A post without a reply, and another user's reply, are not limited.
	e.post(s, owner, "no reply wanted")
	e.model.OnStream(fakes.Reply(fakes.Stop("m", 1, 1), "yours"))
	e.final(s.ID(), e.ask(s, other, "mine").Reply.ID())

	// Still running: still refused.
	_, err := e.send.Handle(e.ctx, owner, app.SendMessageCmd{SessionID: s.ID(), Content: "three", Role: domain.RoleUser, ProcessLLM: true})
	wantErr(t, err, domain.ErrRateLimited, "too-many-generations")

	must(t, step.Finish(fakes.Stop("m", 1, 1)))
	e.final(s.ID(), first.Reply.ID())
	e.eventually("the slot to come back", func() bool {
		_, err := e.replyAdmitted(s, owner)
		return err == nil
	})
}

// replyAdmitted tries a post with a reply, which the model (unless a script
// is queued) answers at once.
func (e *env) replyAdmitted(s *domain.ChatSession, u app.Caller) (app.SendResult, error) {
	e.model.SetDefaultStream(fakes.Reply(fakes.Stop("m", 1, 1), "ok"))
	res, err := e.send.Handle(e.ctx, u, app.SendMessageCmd{SessionID: s.ID(), Content: "try", Role: domain.RoleUser, ProcessLLM: true})
	if err != nil {
		return res, err
	}
	e.final(s.ID(), res.Reply.ID())
	return res, nil
}

// A failure to store the turn gives the slot back.
func TestFailedStoreReleasesTheSlot(t *testing.T) {
	e := newEnv(t, withConfig(func(c *app.GenerationConfig) { c.MaxConcurrentPerUser = 1 }))
	owner := e.user("owner")
	s := e.session(owner, "t")
	outage := domain.Unavailable("storage-unavailable", "the database is not answering", errFlaky)
	failOn(e.store, "messages.CreateTurn", 1, outage)
	_, err := e.send.Handle(e.ctx, owner, app.SendMessageCmd{SessionID: s.ID(), Content: "x", Role: domain.RoleUser, ProcessLLM: true})
	wantErr(t, err, domain.ErrUnavailable, "storage-unavailable")
	// The model was called while the turn was being stored; that call was
	// dropped, and nothing of it was stored or announced.
	if e.store.MessageCount() != 0 || len(e.bus.Published(s.ID())) != 0 {
		t.Fatal("a failed post left traces")
	}
	if _, err := e.replyAdmitted(s, owner); err != nil {
		t.Fatalf("the slot was not released: %v", err)
	}
}

func TestGenerationRateLimit(t *testing.T) {
	e := newEnv(t, withConfig(func(c *app.GenerationConfig) { c.RateLimitPerMinute = 7 }))
	owner := e.user("owner")
	s := e.session(owner, "t")
	e.limiter.DenyAll(42 * time.Second)

	_, err := e.send.Handle(e.ctx, owner, app.SendMessageCmd{SessionID: s.ID(), Content: "x", Role: domain.RoleUser, ProcessLLM: true})
	wantErr(t, err, domain.ErrRateLimited, "generation-rate-limited")
	if retryAfter(err) != 42*time.Second {
		t.Fatalf("retry after %v", retryAfter(err))
	}
	_, err = e.process.Handle(e.ctx, owner, app.ProcessLLMCmd{SessionID: s.ID()})
	wantErr(t, err, domain.ErrRateLimited, "generation-rate-limited")
	if e.store.MessageCount() != 0 || len(e.model.StreamRequests()) != 0 {
		t.Fatal("a rate-limited post stored something or called the model")
	}
	calls := e.limiter.Calls()
	if len(calls) != 2 || calls[0].Key != "llm:"+owner.UserID || calls[0].Rate != (ports.Rate{PerMinute: 7}) {
		t.Fatalf("limiter asked %+v", calls)
	}
	// Posts without a reply are not generation-limited.
	e.post(s, owner, "fine")
	if len(e.limiter.Calls()) != 2 {
		t.Fatal("a post without a reply spent generation budget")
	}
	// A refusal holds no slot.
	e.limiter.AllowAll()
	if _, err := e.replyAdmitted(s, owner); err != nil {
		t.Fatal(err)
	}
}

func TestDailyTokenBudget(t *testing.T) {
	e := newEnv(t, withConfig(func(c *app.GenerationConfig) { c.DailyTokens = 10 }))
	owner := e.user("owner")
	s := e.session(owner, "t")
	e.clock.Set(time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC))
	e.model.OnStream(fakes.Reply(fakes.Stop("m", 4, 6), "spends ten"))
	e.final(s.ID(), e.ask(s, owner, "q").Reply.ID())

	_, err := e.send.Handle(e.ctx, owner, app.SendMessageCmd{SessionID: s.ID(), Content: "more", Role: domain.RoleUser, ProcessLLM: true})
	wantErr(t, err, domain.ErrRateLimited, "daily-token-budget-spent")
	if retryAfter(err) != 6*time.Hour {
		t.Fatalf("retry after %v, want until midnight UTC", retryAfter(err))
	}
	e.post(s, owner, "posting without a reply is free")

	e.clock.Set(time.Date(2026, 11, 26, 0, 0, 1, 0, time.UTC))
	if _, err := e.replyAdmitted(s, owner); err != nil {
		t.Fatalf("the budget did not renew: %v", err)
	}
}

func TestSendOverridesProviderAndModel(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")
	e.model.OnStream(fakes.Reply(fakes.Stop("", 1, 1), "ok"))
	provider := domain.ProviderOpenRouter
	res, err := e.send.Handle(e.ctx, owner, app.SendMessageCmd{
		SessionID: s.ID(), Content: "x", Role: domain.RoleUser, ProcessLLM: true,
		Provider: &provider, Model: ptr("openai/gpt-4o"),
	})
	must(t, err)
	e.final(s.ID(), res.Reply.ID())
	if res.Reply.Provider() != provider || res.Reply.Model() != "openai/gpt-4o" {
		t.Fatalf("reply for %s %s", res.Reply.Provider(), res.Reply.Model())
	}
	req := e.model.StreamRequests()[0]
	if req.Provider != provider || req.Model != "openai/gpt-4o" {
		t.Fatalf("request for %s %s", req.Provider, req.Model)
	}
	// The user's message records the session's own target.
	if res.Message.Provider() != domain.ProviderLocal || res.Message.Model() != "llama3.2" {
		t.Fatalf("message for %s %s", res.Message.Provider(), res.Message.Model())
	}
	// A bad override stores nothing and holds no slot.
	_, err = e.send.Handle(e.ctx, owner, app.SendMessageCmd{
		SessionID: s.ID(), Content: "x", Role: domain.RoleUser, ProcessLLM: true, Model: ptr(""),
	})
	wantErr(t, err, domain.ErrInvalid, "invalid-field")
	if n := e.store.MessageCount(); n != 2 {
		t.Fatalf("%d messages after a refused override", n)
	}
}

func TestProcessLLMWithAndWithoutPrompt(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")
	last := e.post(s, owner, "history")

	e.model.OnStream(fakes.Reply(fakes.Stop("m", 1, 1), "regenerated"))
	reply, err := e.process.Handle(e.ctx, owner, app.ProcessLLMCmd{SessionID: s.ID()})
	must(t, err)
	if reply.ParentID() == nil || *reply.ParentID() != last.ID() || reply.Status() != domain.StatusPending {
		t.Fatalf("reply %+v", reply.Snapshot())
	}
	e.final(s.ID(), reply.ID())
	if n := e.store.MessageCount(); n != 2 {
		t.Fatalf("%d messages, want the history and one reply", n)
	}

	e.model.OnStream(fakes.Reply(fakes.Stop("m", 1, 1), "answered"))
	reply2, err := e.process.Handle(e.ctx, owner, app.ProcessLLMCmd{SessionID: s.ID(), Prompt: ptr("a question")})
	must(t, err)
	e.final(s.ID(), reply2.ID())
	msgs := e.store.SessionMessages(s.ID())
	if len(msgs) != 4 || msgs[2].Content() != "a question" || msgs[2].Role() != domain.RoleUser ||
		*reply2.ParentID() != msgs[2].ID() || *msgs[2].ParentID() != reply.ID() {
		t.Fatalf("messages after process-llm with a prompt: %d", len(msgs))
	}
	events := e.bus.Published(s.ID())
	var created []string
	for _, ev := range events {
		if ev.Type == domain.EventMessageCreated {
			created = append(created, ev.Message.ID)
		}
	}
	if !reflect.DeepEqual(created, []string{last.ID(), reply.ID(), msgs[2].ID(), reply2.ID()}) {
		t.Fatalf("created events for %v", created)
	}

	_, err = e.process.Handle(e.ctx, owner, app.ProcessLLMCmd{SessionID: s.ID(), Prompt: ptr("")})
	wantErr(t, err, domain.ErrInvalid, "invalid-field")
	_, err = e.process.Handle(e.ctx, owner, app.ProcessLLMCmd{SessionID: s.ID(), Settings: &domain.Settings{Temperature: ptr(3.0)}})
	wantErr(t, err, domain.ErrInvalid, "invalid-settings")
	if n := e.store.MessageCount(); n != 4 {
		t.Fatalf("%d messages after refused requests", n)
	}
}

// While the Generator stops, new replies are refused as unavailable.
func TestSendWhileStoppingIsUnavailable(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")
	e.stop()
	_, err := e.send.Handle(context.Background(), owner, app.SendMessageCmd{SessionID: s.ID(), Content: "x", Role: domain.RoleUser, ProcessLLM: true})
	wantErr(t, err, domain.ErrUnavailable, "shutting-down")
	if n := e.store.MessageCount(); n != 0 {
		t.Fatalf("%d messages stored while stopping", n)
	}
	e.post(s, owner, "posts without a reply still work")
}
