package app_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
	"github.com/chatd/chatd/internal/ports/fakes"
)

// title scripts one Complete call answering text.
func title(text string) fakes.CompleteFunc {
	return func(context.Context, ports.CompletionRequest) (string, error) { return text, nil }
}

// gatedTitle scripts a Complete call that waits for the test, then answers
// what the test sends.
func gatedTitle() (fakes.CompleteFunc, chan<- fakes.CompleteFunc, <-chan struct{}) {
	answer := make(chan fakes.CompleteFunc)
	called := make(chan struct{})
	return func(ctx context.Context, req ports.CompletionRequest) (string, error) {
		close(called)
		select {
		case fn := <-answer:
			return fn(ctx, req)
		case <-ctx.Done():
			return "", context.Cause(ctx)
		}
	}, answer, called
}

func TestUntitledSessionIsNamedAfterItsFirstReply(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "")
	e.model.OnStream(fakes.Reply(fakes.Stop("m", 1, 1), "The answer ", "is 42."))
	e.model.OnComplete(title("  \"Meaning of Life?\"\nand a second line"))
	res := e.ask(s, owner, "What is the meaning of life?")
	e.stop() // the title is asked for after the reply ends, within the run

	got, err := e.sessions.Get(e.ctx, s.ID())
	must(t, err)
	if got.Title() != "Meaning of Life" {
		t.Fatalf("title = %q", got.Title())
	}
	reqs := e.model.CompleteRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d title requests", len(reqs))
	}
	req := reqs[0]
	if req.Provider != domain.ProviderLocal || req.Model != "llama3.2" || req.MaxTokens == nil || *req.MaxTokens != 24 {
		t.Fatalf("title request for %s %s max %v", req.Provider, req.Model, deref(req.MaxTokens))
	}
	if len(req.Messages) != 2 || req.Messages[0].Role != domain.RoleSystem || req.Messages[1].Role != domain.RoleUser ||
		req.Messages[1].Content != "User: What is the meaning of life?\nAssistant: The answer is 42." {
		t.Fatalf("title prompt %+v", req.Messages)
	}
	events := e.bus.Published(s.ID())
	last := events[len(events)-1]
	if !reflect.DeepEqual(types(events[len(events)-2:]), []string{"message.completed", "session.updated"}) ||
		last.Session.Title != "Meaning of Life" || events[len(events)-2].Message.ID != res.Reply.ID() {
		t.Fatalf("events end with %v", types(events))
	}
}

func TestTitleModelAndExcerpts(t *testing.T) {
	e := newEnv(t, withConfig(func(c *app.GenerationConfig) { c.TitleModel = "tiny-namer" }))
	owner := e.user("owner")
	s := e.session(owner, "")
	long := strings.Repeat("é", 700)
	e.model.OnStream(fakes.Reply(fakes.Stop("m", 1, 1), "short"))
	e.model.OnComplete(title("Long question"))
	e.ask(s, owner, long)
	e.stop()
	req := e.model.CompleteRequests()[0]
	if req.Model != "tiny-namer" {
		t.Fatalf("titled with %q", req.Model)
	}
	want := "User: " + strings.Repeat("é", 600) + "…\nAssistant: short"
	if req.Messages[1].Content != want {
		t.Fatalf("excerpt of %d runes", len([]rune(req.Messages[1].Content)))
	}
}

func TestTitledSessionsAndFailedRepliesAreNotRenamed(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	titled := e.session(owner, "Chosen by the owner")
	untitled := e.session(owner, "")
	e.model.OnStream(
		fakes.Reply(fakes.Stop("m", 1, 1), "ok"),
		fakes.Fail(domain.Unavailable("provider-error", "the model failed", nil)),
	)
	e.model.SetDefaultComplete(title("Should not be used"))
	e.final(titled.ID(), e.ask(titled, owner, "q").Reply.ID())
	e.final(untitled.ID(), e.ask(untitled, owner, "q").Reply.ID())
	e.stop()
	if n := len(e.model.CompleteRequests()); n != 0 {
		t.Fatalf("%d title requests", n)
	}
	if got, _ := e.sessions.Get(e.ctx, untitled.ID()); got.Title() != "" {
		t.Fatalf("a failed reply named the session %q", got.Title())
	}
}

// A failing title call changes nothing.
func TestFailingTitleChangesNothing(t *testing.T) {
	for name, answer := range map[string]fakes.CompleteFunc{
		"error": func(context.Context, ports.CompletionRequest) (string, error) {
			return "", domain.Unavailable("provider-timeout", "too slow", nil)
		},
		"empty after cleaning": title(`"...?"`),
		"only markup":          title("**##**\nignored second line"),
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			owner := e.user("owner")
			s := e.session(owner, "")
			e.model.OnStream(fakes.Reply(fakes.Stop("m", 1, 1), "ok"))
			complete, release, called := gatedTitle()
			e.model.OnComplete(complete)
			e.ask(s, owner, "q")
			<-called
			before, err := e.sessions.Get(e.ctx, s.ID())
			must(t, err)
			events := len(e.bus.Published(s.ID()))
			release <- answer
			e.stop()

			after, err := e.sessions.Get(e.ctx, s.ID())
			must(t, err)
			if !reflect.DeepEqual(before.Snapshot(), after.Snapshot()) {
				t.Fatalf("naming changed the session:\n%+v\n%+v", before.Snapshot(), after.Snapshot())
			}
			if n := len(e.bus.Published(s.ID())); n != events {
				t.Fatalf("failed naming published %v", types(e.bus.Published(s.ID())[events:]))
			}
		})
	}
}

// After a failed naming the next reply tries again.
func TestNamingIsRetriedOnTheNextReply(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "")
	e.model.SetDefaultStream(fakes.Reply(fakes.Stop("m", 1, 1), "ok"))
	complete, release, called := gatedTitle()
	e.model.OnComplete(complete, title("Second Try"))
	e.ask(s, owner, "q")
	<-called
	release <- title("")
	e.final(s.ID(), e.ask(s, owner, "again").Reply.ID())
	e.stop()
	if n := len(e.model.CompleteRequests()); n != 2 {
		t.Fatalf("%d title requests, want a retry on the next reply", n)
	}
	if got, _ := e.sessions.Get(e.ctx, s.ID()); got.Title() != "Second Try" {
		t.Fatalf("title %q", got.Title())
	}
}

// A title the owner sets while the namer thinks is kept.
func TestOwnersTitleWinsOverTheNamer(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "")
	e.model.OnStream(fakes.Reply(fakes.Stop("m", 1, 1), "ok"))
	complete, release, called := gatedTitle()
	e.model.OnComplete(complete)
	e.ask(s, owner, "q")
	<-called
	_, err := e.update.Handle(e.ctx, owner, s.ID(), app.UpdateSessionCmd{Patch: domain.SessionPatch{Title: ptr("Mine")}})
	must(t, err)
	events := len(e.bus.Published(s.ID()))
	release <- title("The Namer's")
	e.stop()
	got, err := e.sessions.Get(e.ctx, s.ID())
	must(t, err)
	if got.Title() != "Mine" {
		t.Fatalf("title %q", got.Title())
	}
	if n := len(e.bus.Published(s.ID())); n != events {
		t.Fatalf("the namer published %d events", n-events)
	}
}

// Naming a session runs after the reply's slot is released: a slow title
// call does not make the user's next post 429.
func TestNamingDoesNotHoldTheConcurrencySlot(t *testing.T) {
	e := newEnv(t, withConfig(func(c *app.GenerationConfig) { c.MaxConcurrentPerUser = 1 }))
	owner := e.user("owner")
	s := e.session(owner, "")
	e.model.OnStream(fakes.Reply(fakes.Stop("m", 1, 1), "ok"))
	complete, release, called := gatedTitle()
	e.model.OnComplete(complete)
	e.final(s.ID(), e.ask(s, owner, "q").Reply.ID())
	<-called
	_, err := e.replyAdmitted(s, owner)
	release <- title("Named")
	if err != nil {
		t.Fatalf("the reply has ended, yet a new one is refused: %v", err)
	}
}
