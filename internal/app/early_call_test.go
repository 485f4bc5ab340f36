package app_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
	"github.com/chatd/chatd/internal/ports/fakes"
)

// A post calls the model while its turn is being stored, and nothing of
// the reply is announced before the turn's messages.
func TestPostCallsTheModelWhileTheTurnIsStored(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")
	called := make(chan struct{})
	e.model.OnStream(func(ctx context.Context, req ports.CompletionRequest, onDelta func(ports.Delta) error) (ports.Completion, error) {
		close(called)
		if err := onDelta(ports.Delta{Content: "early"}); err != nil {
			return ports.Completion{}, err
		}
		return fakes.Stop("m", 1, 1), nil
	})
	overlapped := false
	e.store.SetFault(func(op string) error {
		if op == "messages.CreateTurn" {
			select {
			case <-called:
				overlapped = true
			case <-time.After(5 * time.Second):
			}
		}
		return nil
	})
	res := e.ask(s, owner, "q")
	e.final(s.ID(), res.Reply.ID())
	e.store.SetFault(nil)
	if !overlapped {
		t.Fatal("the model was not called before the turn was stored")
	}
	var kinds []string
	for _, ev := range e.bus.Published(s.ID()) {
		kinds = append(kinds, string(ev.Type))
	}
	if got := strings.Join(kinds, " "); got != "message.created message.created message.delta message.completed" {
		t.Fatalf("events %s", got)
	}
	if m := e.stored(res.Reply.ID()); m.Content() != "early" {
		t.Fatalf("stored %q", m.Content())
	}
}

// A turn stored under another parent than the early call assumed (another
// message came in between) is answered from the stored history: the early
// call's text is never announced.
func TestStaleEarlyCallIsMadeAgain(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")
	e.model.OnStream(fakes.Reply(fakes.Stop("m", 1, 1), "one"))
	first := e.ask(s, owner, "first")
	e.final(s.ID(), first.Reply.ID())

	called := make(chan struct{})
	stale := fakes.Reply(fakes.Stop("m", 1, 1), "stale")
	e.model.OnStream(
		func(ctx context.Context, req ports.CompletionRequest, onDelta func(ports.Delta) error) (ports.Completion, error) {
			close(called)
			return stale(ctx, req, onDelta)
		},
		fakes.Reply(fakes.Stop("m", 1, 1), "fresh"),
	)
	// Once the early call is made, another message comes in first.
	var interjected atomic.Bool
	e.store.SetFault(func(op string) error {
		if op == "messages.CreateTurn" && interjected.CompareAndSwap(false, true) {
			select {
			case <-called:
			case <-time.After(5 * time.Second):
				t.Error("the model was not called before the turn was stored")
			}
			_, err := e.send.Handle(e.ctx, owner, app.SendMessageCmd{SessionID: s.ID(), Content: "aside", Role: domain.RoleUser})
			must(t, err)
		}
		return nil
	})
	second := e.ask(s, owner, "second")
	e.final(s.ID(), second.Reply.ID())
	e.store.SetFault(nil)

	reqs := e.model.StreamRequests()
	if len(reqs) != 3 {
		t.Fatalf("%d model calls, want 3 (first, the stale early call, the call again)", len(reqs))
	}
	prompt := func(r ports.CompletionRequest) string {
		var parts []string
		for _, m := range r.Messages {
			parts = append(parts, m.Content)
		}
		return strings.Join(parts, "|")
	}
	if got := prompt(reqs[1]); strings.Contains(got, "aside") {
		t.Fatalf("the early call's prompt %q already has the message stored meanwhile", got)
	}
	if got := prompt(reqs[2]); !strings.HasSuffix(got, "aside|second") {
		t.Fatalf("the call made again has prompt %q, want it to end with the stored history aside|second", got)
	}
	if m := e.stored(second.Reply.ID()); m.Content() != "fresh" {
		t.Fatalf("stored %q, want the second call's text", m.Content())
	}
	for _, ev := range e.bus.Published(s.ID()) {
		if ev.Delta != nil && strings.Contains(ev.Delta.Delta, "stale") {
			t.Fatalf("the stale call's text was announced: %+v", ev.Delta)
		}
	}
}
