package app_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
	"github.com/chatd/chatd/internal/ports/fakes"
)

// turn renders a prompt message compactly for comparisons.
func turnsOf(req ports.CompletionRequest) []string {
	out := make([]string, len(req.Messages))
	for i, m := range req.Messages {
		out[i] = string(m.Role) + ":" + m.Content
	}
	return out
}

// seed stores a message as an earlier process left it.
func (e *env) seed(s *domain.ChatSession, u app.Caller, role domain.MessageRole, status domain.MessageStatus, content string) {
	e.t.Helper()
	e.clock.Advance(time.Second)
	m, err := domain.NewReplyPlaceholder(e.ids.NewID(), s.ID(), u.UserID, nil, domain.ProviderLocal, "m", e.clock.Now())
	must(e.t, err)
	snap := m.Snapshot()
	snap.Role, snap.Status, snap.Content = role, status, content
	// Stored as a turn, so it follows the session's current message as a post does.
	must(e.t, e.messages.CreateTurn(e.ctx, ports.NewTurn{Message: domain.RehydrateMessage(snap)}))
}

// generate runs one reply with process-llm and returns what the model got.
func (e *env) generate(s *domain.ChatSession, u app.Caller, cmd app.ProcessLLMCmd) ports.CompletionRequest {
	e.t.Helper()
	e.clock.Advance(time.Second)
	e.model.OnStream(fakes.Reply(fakes.Stop("m", 1, 1), "ok"))
	cmd.SessionID = s.ID()
	reply, err := e.process.Handle(e.ctx, u, cmd)
	must(e.t, err)
	e.final(s.ID(), reply.ID())
	reqs := e.model.StreamRequests()
	return reqs[len(reqs)-1]
}

// The model sees user and system turns and the replies that finished or at
// least produced text; placeholders, replies still running and failures
// without text are left out.
func TestPromptKeepsOnlyTurnsWorthSending(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t")
	for _, m := range []struct {
		role    domain.MessageRole
		status  domain.MessageStatus
		content string
	}{
		{domain.RoleUser, domain.StatusCompleted, "u1"},
		{domain.RoleSystem, domain.StatusCompleted, "s1"},
		{domain.RoleAssistant, domain.StatusCompleted, "done"},
		{domain.RoleAssistant, domain.StatusCompleted, ""},
		{domain.RoleAssistant, domain.StatusFailed, ""},
		{domain.RoleAssistant, domain.StatusFailed, "failed with text"},
		{domain.RoleAssistant, domain.StatusCancelled, ""},
		{domain.RoleAssistant, domain.StatusCancelled, "cancelled with text"},
		{domain.RoleAssistant, domain.StatusInterrupted, "interrupted with text"},
		{domain.RoleAssistant, domain.StatusPending, ""},
		{domain.RoleAssistant, domain.StatusStreaming, "still streaming"},
	} {
		e.seed(s, owner, m.role, m.status, m.content)
	}
	req := e.generate(s, owner, app.ProcessLLMCmd{Prompt: ptr("u2")})
	want := []string{
		"user:u1", "system:s1", "assistant:done", "assistant:", "assistant:failed with text",
		"assistant:cancelled with text", "assistant:interrupted with text", "user:u2",
	}
	if got := turnsOf(req); !reflect.DeepEqual(got, want) {
		t.Fatalf("prompt\n got %q\nwant %q", got, want)
	}
}

// The system prompt comes first and does not count against the history
// limit; the newest turns are kept, the turn being answered always.
func TestPromptSystemPromptAndHistoryLimit(t *testing.T) {
	e := newEnv(t, withConfig(func(c *app.GenerationConfig) { c.DefaultContextMessages = 2 }))
	owner := e.user("owner")
	s := e.session(owner, "t", domain.Settings{SystemPrompt: ptr("Be terse."), MaxContextMessages: ptr(3)})
	for i := range 5 {
		e.seed(s, owner, domain.RoleUser, domain.StatusCompleted, fmt.Sprint("u", i))
		e.seed(s, owner, domain.RoleAssistant, domain.StatusFailed, "") // not sent, not counted
	}
	req := e.generate(s, owner, app.ProcessLLMCmd{Prompt: ptr("now")})
	want := []string{"system:Be terse.", "user:u3", "user:u4", "user:now"}
	if got := turnsOf(req); !reflect.DeepEqual(got, want) {
		t.Fatalf("prompt %q, want %q", got, want)
	}

	// Without a session limit the deployment's default applies; an empty
	// system prompt is not sent.
	plain := e.session(owner, "plain", domain.Settings{SystemPrompt: ptr("")})
	for i := range 3 {
		e.seed(plain, owner, domain.RoleUser, domain.StatusCompleted, fmt.Sprint("p", i))
	}
	req = e.generate(plain, owner, app.ProcessLLMCmd{})
	if got := turnsOf(req); !reflect.DeepEqual(got, []string{"user:p1", "user:p2"}) {
		t.Fatalf("prompt %q", got)
	}
}

// Settings reach the request; the server's ceiling bounds max_tokens.
func TestPromptRequestSettingsAndMaxTokensCeiling(t *testing.T) {
	cases := []struct {
		ceiling  int
		settings *int
		want     *int
	}{
		{0, nil, nil},
		{0, ptr(5000), ptr(5000)},
		{100, nil, ptr(100)},
		{100, ptr(50), ptr(50)},
		{100, ptr(100), ptr(100)},
		{100, ptr(5000), ptr(100)},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("ceiling %d settings %v", tc.ceiling, deref(tc.settings)), func(t *testing.T) {
			e := newEnv(t, withConfig(func(c *app.GenerationConfig) { c.MaxTokensCeiling = tc.ceiling }))
			owner := e.user("owner")
			settings := domain.Settings{
				MaxTokens: tc.settings, Temperature: ptr(0.5), TopP: ptr(0.9),
				Stop: []string{"\n\n"}, FallbackModels: []string{"backup"},
			}
			s := e.session(owner, "t", settings)
			req := e.generate(s, owner, app.ProcessLLMCmd{Prompt: ptr("q")})
			if deref(req.MaxTokens) != deref(tc.want) {
				t.Fatalf("max_tokens %v, want %v", deref(req.MaxTokens), deref(tc.want))
			}
			if *req.Temperature != 0.5 || *req.TopP != 0.9 || !reflect.DeepEqual(req.Stop, []string{"\n\n"}) ||
				!reflect.DeepEqual(req.FallbackModels, []string{"backup"}) || req.Provider != domain.ProviderLocal || req.Model != "llama3.2" {
				t.Fatalf("request %+v", req)
			}
			// The ceiling never changes the session's own setting.
			got, err := e.sessions.Get(e.ctx, s.ID())
			must(t, err)
			if deref(got.Settings().MaxTokens) != deref(tc.settings) {
				t.Fatalf("session max_tokens became %v", deref(got.Settings().MaxTokens))
			}
		})
	}
}

// Settings given to process-llm replace the session's for that reply only.
func TestPromptProcessLLMSettingsOverride(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	s := e.session(owner, "t", domain.Settings{SystemPrompt: ptr("session prompt"), Temperature: ptr(1.0)})
	req := e.generate(s, owner, app.ProcessLLMCmd{Prompt: ptr("q"), Settings: &domain.Settings{SystemPrompt: ptr("override")}})
	if req.Messages[0].Content != "override" || req.Temperature != nil {
		t.Fatalf("request %q temperature %v", turnsOf(req), deref(req.Temperature))
	}
	req = e.generate(s, owner, app.ProcessLLMCmd{})
	if req.Messages[0].Content != "session prompt" || deref(req.Temperature) != 1.0 {
		t.Fatalf("the override stuck: %q", turnsOf(req))
	}
}
