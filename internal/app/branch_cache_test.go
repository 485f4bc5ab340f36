package app_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
	"github.com/chatd/chatd/internal/ports/fakes"
)

// countReads counts the storage reads of prompt history.
func (e *env) countReads() *atomic.Int64 {
	var n atomic.Int64
	e.store.SetFault(func(op string) error {
		if op == "messages.Ancestors" {
			n.Add(1)
		}
		return nil
	})
	e.t.Cleanup(func() { e.store.SetFault(nil) })
	return &n
}

// turn asks and waits until the reply's end is announced and the run is
// done with the session (a snapshot takes the session's lock after it).
func (e *env) turn(s *domain.ChatSession, u app.Caller, content, answer string) app.SendResult {
	e.t.Helper()
	e.model.OnStream(fakes.Reply(fakes.Stop("m", 1, 1), answer))
	res := e.ask(s, u, content)
	e.final(s.ID(), res.Reply.ID())
	_, _, err := e.gen.Snapshot(e.ctx, s.ID())
	must(e.t, err)
	return res
}

func lastPrompt(e *env) string {
	reqs := e.model.StreamRequests()
	var parts []string
	for _, m := range reqs[len(reqs)-1].Messages {
		parts = append(parts, m.Content)
	}
	return strings.Join(parts, "|")
}

// A turn that follows a reply generated here, with nothing else announced
// in the session since, builds its prompt without reading storage; the
// prompt is the stored branch.
func TestNextTurnPromptComesFromTheBranchCache(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")
	reads := e.countReads()
	e.turn(s, owner, "one", "A")
	e.turn(s, owner, "two", "B")
	e.turn(s, owner, "three", "C")
	if got := lastPrompt(e); got != "one|A|two|B|three" {
		t.Fatalf("prompt %q", got)
	}
	if n := reads.Load(); n != 0 {
		t.Fatalf("%d history reads from storage, want none after the first turn's empty branch", n)
	}
}

// An edit is announced: the next prompt is read from storage and has it.
func TestEditBetweenTurnsIsReadFromStorage(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")
	first := e.turn(s, owner, "one", "A")
	_, err := e.edit.Handle(e.ctx, owner, first.Message.ID(), domain.MessageEdit{Content: ptr("one, edited")})
	must(t, err)
	reads := e.countReads()
	e.turn(s, owner, "two", "B")
	if got := lastPrompt(e); got != "one, edited|A|two" {
		t.Fatalf("prompt %q, want the edit", got)
	}
	if reads.Load() != 1 {
		t.Fatalf("%d history reads, want 1", reads.Load())
	}
}

// An event of someone else's while a reply streams may have changed its
// history: the branch is not kept, and the next prompt is read from storage.
func TestBranchNotKeptWhenAnotherEventCameMeanwhile(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")
	e.turn(s, owner, "one", "A")
	e.model.OnStream(func(ctx context.Context, req ports.CompletionRequest, onDelta func(ports.Delta) error) (ports.Completion, error) {
		if _, err := e.bus.Publish(ctx, domain.SessionChanged(domain.EventSessionUpdated, s)); err != nil {
			return ports.Completion{}, err
		}
		if err := onDelta(ports.Delta{Content: "B"}); err != nil {
			return ports.Completion{}, err
		}
		return fakes.Stop("m", 1, 1), nil
	})
	second := e.ask(s, owner, "two")
	e.final(s.ID(), second.Reply.ID())
	reads := e.countReads()
	e.turn(s, owner, "three", "C")
	if reads.Load() != 1 {
		t.Fatalf("%d history reads, want 1: the branch was kept although another event came while it streamed", reads.Load())
	}
	if got := lastPrompt(e); got != "one|A|two|B|three" {
		t.Fatalf("prompt %q", got)
	}
}

// A post under an explicit parent (an edit-and-resend branch) reads its
// history for that parent, not the cached branch of the current message.
func TestBranchCacheIsForItsTipOnly(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")
	first := e.turn(s, owner, "one", "A")
	e.turn(s, owner, "two", "B")
	reads := e.countReads()
	e.model.OnStream(fakes.Reply(fakes.Stop("m", 1, 1), "B2"))
	res, err := e.send.Handle(e.ctx, owner, app.SendMessageCmd{SessionID: s.ID(), Content: "two again",
		Role: domain.RoleUser, ProcessLLM: true, Placement: domain.Under(ptr(first.Reply.ID()))})
	must(t, err)
	e.final(s.ID(), res.Reply.ID())
	if got := lastPrompt(e); got != "one|A|two again" {
		t.Fatalf("prompt %q", got)
	}
	if reads.Load() != 1 {
		t.Fatalf("%d history reads, want 1", reads.Load())
	}
}
