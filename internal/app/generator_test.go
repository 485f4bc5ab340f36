package app_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
	"github.com/chatd/chatd/internal/ports/fakes"
)

// A finished reply stores its text, the served model, usage and timings by
// the generator's clock.
func TestGeneratorCompletes(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")
	e.model.OnStream(func(_ context.Context, _ ports.CompletionRequest, onDelta func(ports.Delta) error) (ports.Completion, error) {
		e.clock.Advance(300 * time.Millisecond)
		if err := onDelta(ports.Delta{Reasoning: "thinking\x00 hard"}); err != nil {
			return ports.Completion{}, err
		}
		for _, piece := range []string{"a\x00b", "\x00", "c"} {
			if err := onDelta(ports.Delta{Content: piece}); err != nil {
				return ports.Completion{}, err
			}
		}
		e.clock.Advance(700 * time.Millisecond)
		cost := 0.25
		return ports.Completion{FinishReason: "length", Model: "served", Usage: ports.Usage{
			PromptTokens: 5, CompletionTokens: 2, Estimated: true, CostUSD: &cost}}, nil
	})
	res := e.ask(s, owner, "q")
	final := e.final(s.ID(), res.Reply.ID())
	if final.Type != domain.EventMessageCompleted {
		t.Fatalf("final event %s", final.Type)
	}
	m := e.stored(res.Reply.ID())
	if m.Status() != domain.StatusCompleted || m.Content() != "abc" || m.Model() != "served" ||
		*m.TokensUsed() != 7 || *m.ResponseTimeMs() != 1000 || m.ErrorMessage() != nil {
		t.Fatalf("stored %+v", m.Snapshot())
	}
	want := map[string]any{
		"finish_reason": "length", "prompt_tokens": float64(5), "completion_tokens": float64(2),
		"usage_estimated": true, "time_to_first_token_ms": float64(300), "model": "served",
		"cost_usd": 0.25, "reasoning": "thinking hard",
	}
	if fmt.Sprint(m.Metadata()) != fmt.Sprint(want) {
		t.Fatalf("metadata\n got %v\nwant %v", m.Metadata(), want)
	}
	// NUL is dropped from the text, and a delta left empty is not published.
	var deltas []string
	for _, ev := range e.bus.Published(s.ID()) {
		if ev.Type == domain.EventMessageDelta {
			deltas = append(deltas, fmt.Sprintf("%d:%s", ev.Delta.Index, ev.Delta.Delta))
		}
	}
	if strings.Join(deltas, " ") != "0:ab 1:c" {
		t.Fatalf("deltas %v", deltas)
	}
}

// Text whose delta the broker refused goes out with the next delta, under
// the refused delta's index: the deltas a client gets add up to the reply.
func TestGeneratorResendsRefusedDeltaText(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")
	e.model.OnStream(func(_ context.Context, _ ports.CompletionRequest, onDelta func(ports.Delta) error) (ports.Completion, error) {
		for i, piece := range []string{"a", "b", "c", "d"} {
			if i == 1 {
				e.bus.RefusePublishes(2) // "b" and "c" find the broker away
			}
			if err := onDelta(ports.Delta{Content: piece}); err != nil {
				return ports.Completion{}, err
			}
		}
		return ports.Completion{FinishReason: "stop"}, nil
	})
	res := e.ask(s, owner, "q")
	e.final(s.ID(), res.Reply.ID())
	var deltas []string
	for _, ev := range e.bus.Published(s.ID()) {
		if ev.Type == domain.EventMessageDelta {
			deltas = append(deltas, fmt.Sprintf("%d:%s", ev.Delta.Index, ev.Delta.Delta))
		}
	}
	if strings.Join(deltas, " ") != "0:a 1:bcd" {
		t.Fatalf("deltas %v, want 0:a 1:bcd", deltas)
	}
}

// A stream that breaks keeps the text it produced and tells the user why in
// the provider's words, never a raw error.
func TestGeneratorFailsKeepingTheText(t *testing.T) {
	cases := map[string]struct {
		err      error
		pieces   []string
		sentence string
		tokens   *int
	}{
		"domain error mid-stream": {
			err:    domain.Unavailable("provider-incomplete", "the model stopped before finishing its reply", nil),
			pieces: []string{"Hel", "lo wor"}, sentence: "the model stopped before finishing its reply", tokens: ptr(3),
		},
		"raw error": {
			err:    errors.New("read tcp 10.0.0.1: connection reset by peer"),
			pieces: []string{"x"}, sentence: "the model failed to answer", tokens: ptr(1),
		},
		"before any text": {
			err:      domain.Unavailable("provider-unreachable", "the model could not be reached", nil),
			sentence: "the model could not be reached",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			owner := e.user("owner")
			s := e.session(owner, "t")
			deltas := make([]ports.Delta, len(tc.pieces))
			for i, p := range tc.pieces {
				deltas[i] = ports.Delta{Content: p}
			}
			e.model.OnStream(fakes.Deltas(ports.Completion{}, tc.err, deltas...))
			res := e.ask(s, owner, "q")
			final := e.final(s.ID(), res.Reply.ID())
			text := strings.Join(tc.pieces, "")
			if final.Type != domain.EventMessageFailed || final.Message.Content != text {
				t.Fatalf("final %s %q", final.Type, final.Message.Content)
			}
			m := e.stored(res.Reply.ID())
			if m.Status() != domain.StatusFailed || m.Content() != text || m.ErrorMessage() == nil || *m.ErrorMessage() != tc.sentence {
				t.Fatalf("stored %+v", m.Snapshot())
			}
			if got, want := deref(m.TokensUsed()), deref(tc.tokens); got != want {
				t.Fatalf("tokens used %v, want %v (estimated from the text)", got, want)
			}
			if m.Metadata()["finish_reason"] != "error" || m.Metadata()["usage_estimated"] != (text != "") {
				t.Fatalf("metadata %v", m.Metadata())
			}
		})
	}
}

// A participant's cancel stops the stream, keeps the text and answers the
// stored reply; a second cancel answers it again.
func TestGeneratorCancelKeepsTheText(t *testing.T) {
	e := newEnv(t)
	owner, member := e.user("owner"), e.user("member")
	s := e.session(owner, "t")
	e.join(s, member, domain.ParticipantMember)
	step := fakes.NewStepper()
	e.model.OnStream(step.Stream)
	res := e.ask(s, owner, "q")
	started(t, step)
	must(t, step.Text("partial "))
	must(t, step.Text("answer"))

	m, err := e.cancel.Handle(e.ctx, member, res.Reply.ID())
	must(t, err)
	if m.Status() != domain.StatusCancelled || m.Content() != "partial answer" {
		t.Fatalf("cancel answered %+v", m.Snapshot())
	}
	if cause := step.CancelCause(); cause == nil || !strings.Contains(cause.Error(), "cancelled") {
		t.Fatalf("the stream ended with cause %v", cause)
	}
	if m.Metadata()["finish_reason"] != "cancelled" || m.ErrorMessage() != nil {
		t.Fatalf("metadata %v, error %v", m.Metadata(), m.ErrorMessage())
	}
	final := e.final(s.ID(), res.Reply.ID())
	if final.Type != domain.EventMessageCancelled {
		t.Fatalf("final event %s", final.Type)
	}
	events := len(e.bus.Published(s.ID()))

	again, err := e.cancel.Handle(e.ctx, owner, res.Reply.ID())
	must(t, err)
	if again.Status() != domain.StatusCancelled || again.Content() != "partial answer" {
		t.Fatalf("second cancel answered %+v", again.Snapshot())
	}
	if n := len(e.bus.Published(s.ID())); n != events {
		t.Fatal("a second cancel published again")
	}
	if err := step.Fail(errors.New("late")); !errors.Is(err, fakes.ErrStreamEnded) {
		t.Fatal("the stream still runs after cancel")
	}
}

// Stop gives running replies until the shutdown timeout, then cancels them;
// they store themselves as interrupted with their text.
func TestGeneratorStopInterruptsAfterTheTimeout(t *testing.T) {
	e := newEnv(t, withConfig(func(c *app.GenerationConfig) { c.ShutdownTimeout = 100 * time.Millisecond }))
	owner := e.user("owner")
	s := e.session(owner, "t")
	step := fakes.NewStepper()
	e.model.OnStream(step.Stream)
	res := e.ask(s, owner, "q")
	started(t, step)
	must(t, step.Text("so far"))

	begun := time.Now()
	e.stop()
	if waited := time.Since(begun); waited < 100*time.Millisecond {
		t.Fatalf("stop cancelled after %v, before the timeout", waited)
	}
	m := e.stored(res.Reply.ID())
	if m.Status() != domain.StatusInterrupted || m.Content() != "so far" || m.ErrorMessage() == nil {
		t.Fatalf("stored %+v", m.Snapshot())
	}
	if m.Metadata()["finish_reason"] != "interrupted" {
		t.Fatalf("metadata %v", m.Metadata())
	}
	final := e.final(s.ID(), res.Reply.ID())
	if final.Type != domain.EventMessageFailed || final.Message.Status != domain.StatusInterrupted {
		t.Fatalf("final event %s %s", final.Type, final.Message.Status)
	}
}

// Stop waits for a reply that finishes within the timeout, and refuses new
// ones meanwhile.
func TestGeneratorStopWaitsForRunningReplies(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")
	step := fakes.NewStepper()
	e.model.OnStream(step.Stream)
	res := e.ask(s, owner, "q")
	started(t, step)

	stopped := make(chan struct{})
	go func() { defer close(stopped); e.stop() }()
	// Until stop begins a post is refused by the rate, after the slot is
	// taken and given back: nothing starts; once stopping, by the slot.
	e.limiter.DenyAll(time.Second)
	e.eventually("stop to refuse new replies", func() bool {
		_, err := e.send.Handle(e.ctx, owner, app.SendMessageCmd{SessionID: s.ID(), Content: "x", Role: domain.RoleUser, ProcessLLM: true})
		return domain.IsKind(err, domain.ErrUnavailable)
	})
	select {
	case <-stopped:
		t.Fatal("stop returned while a reply was running")
	case <-time.After(50 * time.Millisecond):
	}
	must(t, step.Text("finished in time"))
	must(t, step.Finish(fakes.Stop("m", 1, 1)))
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("stop did not return after the reply ended")
	}
	if m := e.stored(res.Reply.ID()); m.Status() != domain.StatusCompleted || m.Content() != "finished in time" {
		t.Fatalf("stored %+v", m.Snapshot())
	}
}

// A stop whose own deadline comes first cancels at once and reports it.
func TestGeneratorStopHonoursItsContext(t *testing.T) {
	e := newEnv(t, withConfig(func(c *app.GenerationConfig) { c.ShutdownTimeout = time.Hour }))
	owner := e.user("owner")
	s := e.session(owner, "t")
	step := fakes.NewStepper()
	e.model.OnStream(step.Stream)
	res := e.ask(s, owner, "q")
	started(t, step)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	e.stopOnce.Do(func() {
		if err := e.gen.Stop(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("stop: %v", err)
		}
	})
	e.final(s.ID(), res.Reply.ID())
	if m := e.stored(res.Reply.ID()); m.Status() != domain.StatusInterrupted {
		t.Fatalf("status %s", m.Status())
	}
}

// While a reply streams its text so far is stored every FlushInterval, and
// a failed flush is tried again; the end is never overwritten by a flush.
func TestGeneratorFlushesProgress(t *testing.T) {
	e := newEnv(t, withConfig(func(c *app.GenerationConfig) { c.FlushInterval = 5 * time.Millisecond }))
	owner := e.user("owner")
	s := e.session(owner, "t")
	step := fakes.NewStepper()
	e.model.OnStream(step.Stream)
	res := e.ask(s, owner, "q")
	started(t, step)

	// A reasoning delta alone marks the reply streaming.
	must(t, step.Send(ports.Delta{Reasoning: "hmm"}))
	e.eventually("the reply stored as streaming", func() bool {
		return e.stored(res.Reply.ID()).Status() == domain.StatusStreaming
	})
	must(t, step.Text("abc"))
	e.eventually("abc flushed", func() bool { return e.stored(res.Reply.ID()).Content() == "abc" })

	failOn(e.store, "messages.SaveReply", 3, domain.Unavailable("storage-unavailable", "down", nil))
	must(t, step.Text("def"))
	e.eventually("abcdef flushed after failures", func() bool { return e.stored(res.Reply.ID()).Content() == "abcdef" })
	if n := e.store.Calls("messages.SaveReply"); n < 4 {
		t.Fatalf("%d saves, want the 3 failures retried", n)
	}
	m := e.stored(res.Reply.ID())
	if m.Status() != domain.StatusStreaming || m.Metadata()["finish_reason"] != nil {
		t.Fatalf("progress stored %+v", m.Snapshot())
	}

	must(t, step.Finish(fakes.Stop("m", 1, 1)))
	e.final(s.ID(), res.Reply.ID())
	time.Sleep(30 * time.Millisecond) // several flush ticks
	if m := e.stored(res.Reply.ID()); m.Status() != domain.StatusCompleted || m.Content() != "abcdef" {
		t.Fatalf("a flush overwrote the end: %+v", m.Snapshot())
	}
}

// Start repairs replies a dead process left pending or streaming, and
// touches nothing else.
func TestGeneratorStartRepairsLeftoverReplies(t *testing.T) {
	e := newEnv(t, unstarted())
	owner := e.user("owner")
	s := e.session(owner, "t")
	q := e.post(s, owner, "q")
	qid := q.ID()
	leftover := func(status domain.MessageStatus, content string) string {
		m, err := domain.NewReplyPlaceholder(e.ids.NewID(), s.ID(), owner.UserID, &qid, domain.ProviderLocal, "m", e.clock.Now())
		must(t, err)
		snap := m.Snapshot()
		snap.Status, snap.Content = status, content
		must(t, e.store.PutMessage(domain.RehydrateMessage(snap)))
		return snap.ID
	}
	pending := leftover(domain.StatusPending, "")
	streaming := leftover(domain.StatusStreaming, "half a rep")
	done := leftover(domain.StatusCompleted, "whole")

	e.clock.Advance(time.Hour)
	must(t, e.gen.Start(e.ctx))
	t.Cleanup(e.stop)

	for id, content := range map[string]string{pending: "", streaming: "half a rep"} {
		m := e.stored(id)
		if m.Status() != domain.StatusInterrupted || m.Content() != content || !m.UpdatedAt().Equal(e.clock.Now().Truncate(time.Millisecond)) ||
			deref(m.ErrorMessage()) != domain.InterruptedReason || m.Metadata()["finish_reason"] != "interrupted" {
			t.Fatalf("repaired %+v", m.Snapshot())
		}
	}
	if m := e.stored(done); m.Status() != domain.StatusCompleted {
		t.Fatalf("a completed reply became %s", m.Status())
	}
	if m := e.stored(qid); m.Status() != domain.StatusCompleted {
		t.Fatalf("a user message became %s", m.Status())
	}
}

func TestGeneratorStartFailsWhenRepairFails(t *testing.T) {
	e := newEnv(t, unstarted())
	failOn(e.store, "messages.RepairLapsed", 1, errFlaky)
	if err := e.gen.Start(e.ctx); !errors.Is(err, errFlaky) {
		t.Fatalf("start: %v, want the storage error", err)
	}
}

// A snapshot's streaming text is exactly what the delta events up to its
// LastSeq carry: a client applying the events after LastSeq neither misses
// nor doubles text.
func TestGeneratorSnapshotAgreesWithLastSeq(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")
	const pieces = 400
	// Halfway the stream waits until a snapshot saw text, so at least one
	// lands mid-reply however the goroutines are scheduled.
	seen := make(chan struct{})
	e.model.OnStream(func(ctx context.Context, _ ports.CompletionRequest, onDelta func(ports.Delta) error) (ports.Completion, error) {
		for i := range pieces {
			if err := onDelta(ports.Delta{Content: fmt.Sprintf("%d,", i)}); err != nil {
				return ports.Completion{}, err
			}
			if i == pieces/2 {
				select {
				case <-seen:
				case <-ctx.Done():
					return ports.Completion{}, context.Cause(ctx)
				}
			}
		}
		return fakes.Stop("m", 1, 1), nil
	})
	res := e.ask(s, owner, "q")
	id := res.Reply.ID()
	var seenOnce sync.Once

	checked, midway := 0, 0
	for {
		lastSeq, streaming, _ := e.gen.Snapshot(e.ctx, s.ID())
		events := e.bus.Published(s.ID())
		finalSeq := int64(-1)
		for _, ev := range events {
			if ev.Message != nil && ev.Message.ID == id && ev.Type != domain.EventMessageCreated {
				finalSeq = ev.Seq
			}
		}
		switch {
		case len(streaming) == 1:
			if streaming[0].ID != id {
				t.Fatalf("snapshot lists %s", streaming[0].ID)
			}
			if want := deltaText(events, id, lastSeq); streaming[0].Content != want {
				t.Fatalf("at seq %d the snapshot holds %d bytes, the deltas %d", lastSeq, len(streaming[0].Content), len(want))
			}
			if finalSeq >= 0 && finalSeq <= lastSeq {
				t.Fatalf("snapshot at %d lists a reply that ended at %d", lastSeq, finalSeq)
			}
			if streaming[0].Content != "" {
				midway++
				seenOnce.Do(func() { close(seen) })
			}
		case len(streaming) == 0:
			if finalSeq < 0 || finalSeq > lastSeq {
				t.Fatalf("snapshot at %d lists no reply, the reply's end is at %d", lastSeq, finalSeq)
			}
		default:
			t.Fatalf("snapshot lists %d replies", len(streaming))
		}
		checked++
		if len(streaming) == 0 {
			break
		}
	}
	t.Logf("%d snapshots, %d of them mid-reply", checked, midway)
	if midway == 0 {
		t.Fatal("no snapshot landed mid-reply")
	}
	if deltaText(e.bus.Published(s.ID()), id, -1) != e.stored(id).Content() {
		t.Fatal("the deltas do not add up to the stored text")
	}
}

// A session's events do not wait for or mix with another session's.
func TestGeneratorKeepsSessionsApart(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	a, b := e.session(owner, "a"), e.session(owner, "b")
	step := fakes.NewStepper()
	e.model.OnStream(step.Stream, fakes.Reply(fakes.Stop("m", 1, 1), "b's reply"))
	ra := e.ask(a, owner, "for a")
	started(t, step)
	rb := e.ask(b, owner, "for b")
	e.final(b.ID(), rb.Reply.ID())
	if _, streaming, _ := e.gen.Snapshot(e.ctx, b.ID()); len(streaming) != 0 {
		t.Fatalf("b lists a's reply: %+v", streaming)
	}
	if _, streaming, _ := e.gen.Snapshot(e.ctx, a.ID()); len(streaming) != 1 || streaming[0].ID != ra.Reply.ID() {
		t.Fatalf("a lists %+v", streaming)
	}
	for _, ev := range e.bus.Published(b.ID()) {
		if ev.SessionID != b.ID() || (ev.Message != nil && ev.Message.SessionID != b.ID()) {
			t.Fatalf("b got %+v", ev)
		}
	}
	must(t, step.Finish(fakes.Stop("m", 1, 1)))
	e.final(a.ID(), ra.Reply.ID())
}

// The model gets a context the generator cancels, not the request's: a post
// whose request ends at once still gets its reply.
func TestGenerationOutlivesTheRequest(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")
	step := fakes.NewStepper()
	e.model.OnStream(step.Stream)
	ctx, cancel := context.WithCancel(e.ctx)
	res, err := e.send.Handle(ctx, owner, app.SendMessageCmd{SessionID: s.ID(), Content: "q", Role: domain.RoleUser, ProcessLLM: true})
	must(t, err)
	cancel()
	started(t, step)
	must(t, step.Text("still here"))
	must(t, step.Finish(fakes.Stop("m", 1, 1)))
	if final := e.final(s.ID(), res.Reply.ID()); final.Message.Status != domain.StatusCompleted {
		t.Fatalf("status %s", final.Message.Status)
	}
}

// A post admitted just before Stop (its slot reserved) that stores its turn
// after Stop began is waited for: Stop does not return while it is pending,
// and its reply is ended (interrupted) rather than left running.
func TestPostAdmittedBeforeStopIsWaitedFor(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")
	step := fakes.NewStepper()
	e.model.OnStream(step.Stream)
	gate := make(chan struct{})
	e.store.SetFault(func(op string) error {
		if op == "messages.CreateTurn" {
			<-gate
		}
		return nil
	})
	type sent struct {
		res app.SendResult
		err error
	}
	result := make(chan sent, 1)
	go func() {
		res, err := e.send.Handle(context.Background(), owner, app.SendMessageCmd{
			SessionID: s.ID(), Content: "q", Role: domain.RoleUser, ProcessLLM: true,
		})
		result <- sent{res, err}
	}()
	e.eventually("the post to reach storage", func() bool { return e.store.Calls("messages.CreateTurn") == 1 })
	stopped := make(chan struct{})
	go func() {
		e.stop()
		close(stopped)
	}()
	select {
	case <-stopped:
		t.Fatal("Stop returned while an admitted post was still pending")
	case <-time.After(200 * time.Millisecond):
	}
	close(gate)
	got := <-result
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return after the pending post went on")
	}
	if got.err != nil {
		return // refused: fine
	}
	if final := e.final(s.ID(), got.res.Reply.ID()); !final.Message.Status.IsFinal() {
		t.Fatalf("the reply was left %s", final.Message.Status)
	}
}

// Durations come from ports.Clock, whose real adapter answers
// time.Now().UTC() without a monotonic reading. A wall clock stepped back
// mid-reply (NTP) must not give a negative response time, which storage
// refuses (CHECK response_time_ms >= 0).
func TestClockSteppedBackStillStoresTheReplysEnd(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")
	e.model.OnStream(func(_ context.Context, _ ports.CompletionRequest, onDelta func(ports.Delta) error) (ports.Completion, error) {
		if err := onDelta(ports.Delta{Content: "answer"}); err != nil {
			return ports.Completion{}, err
		}
		e.clock.Advance(-2 * time.Second) // NTP steps the wall clock back
		return fakes.Stop("m", 1, 1), nil
	})
	res := e.ask(s, owner, "q")
	deadline := time.Now().Add(15 * time.Second)
	for e.stored(res.Reply.ID()).Status() != domain.StatusCompleted {
		if time.Now().After(deadline) {
			t.Fatalf("the reply's end was never stored: %s", e.stored(res.Reply.ID()).Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
