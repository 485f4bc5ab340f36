package llm

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// TestMain proves that no test leaves a goroutine behind: watchdog timers,
// transport read loops and server handlers all end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const testKey = "sk-or-v1-secret-test-key-0123456789"

// recorded is one request the scripted upstream received.
type recorded struct {
	method string
	path   string
	header http.Header
	body   map[string]any
}

// upstream is a scripted OpenAI-compatible server. script gets the request
// and its 0-based number among the requests received.
type upstream struct {
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []recorded
	script func(w http.ResponseWriter, r *http.Request, n int)
}

func newUpstream(t *testing.T, script func(w http.ResponseWriter, r *http.Request, n int)) *upstream {
	t.Helper()
	u := &upstream{script: script}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		rec := recorded{method: r.Method, path: r.URL.Path, header: r.Header.Clone()}
		_ = json.Unmarshal(raw, &rec.body)
		u.mu.Lock()
		n := len(u.reqs)
		u.reqs = append(u.reqs, rec)
		u.mu.Unlock()
		u.script(w, r, n)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

// base is the base URL the client is configured with.
func (u *upstream) base() string { return u.srv.URL + "/v1" }

func (u *upstream) requests() []recorded {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]recorded(nil), u.reqs...)
}

func (u *upstream) count() int { return len(u.requests()) }

// unreachable is an address nothing listens on.
func unreachable(t *testing.T) string {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr + "/v1"
}

// testConfig points LOCAL at local and OPENROUTER at router with fast,
// test-sized limits.
func testConfig(local, router string) Config {
	return Config{
		Local:          ProviderConfig{BaseURL: local, FirstTokenTimeout: 2 * time.Second},
		OpenRouter:     ProviderConfig{BaseURL: router, APIKey: testKey, FirstTokenTimeout: 2 * time.Second},
		ConnectTimeout: time.Second,
		IdleTimeout:    2 * time.Second,
		TotalTimeout:   5 * time.Second,
		RetryBaseDelay: time.Millisecond,
	}
}

func newTestClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := NewClient(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// localClient is a client whose LOCAL provider is u.
func localClient(t *testing.T, u *upstream, tweak ...func(*Config)) *Client {
	t.Helper()
	cfg := testConfig(u.base(), "http://127.0.0.1:1/v1")
	for _, f := range tweak {
		f(&cfg)
	}
	return newTestClient(t, cfg)
}

func localReq(model string) ports.CompletionRequest {
	return ports.CompletionRequest{
		Provider: domain.ProviderLocal,
		Model:    model,
		Messages: []ports.PromptMessage{
			{Role: domain.RoleSystem, Content: "You are terse."},
			{Role: domain.RoleUser, Content: "Say hello"},
		},
	}
}

// --- the wire, as servers write it ---

func startSSE(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
}

// send writes raw stream text and flushes it, as a streaming server does.
func send(w http.ResponseWriter, raw ...string) {
	for _, s := range raw {
		_, _ = io.WriteString(w, s)
	}
	w.(http.Flusher).Flush()
}

func event(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return "data: " + string(b) + "\n\n"
}

func chunkWith(delta map[string]any, finish any) map[string]any {
	return map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1700000000, "model": "served/model",
		"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}},
	}
}

func contentEvent(text string) string {
	return event(chunkWith(map[string]any{"role": "assistant", "content": text}, nil))
}

func finishEvent(reason string) string {
	return event(chunkWith(map[string]any{}, reason))
}

func usageEvent(prompt, completion int) string {
	return event(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1700000000, "model": "served/model",
		"choices": []any{}, "usage": map[string]any{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
	})
}

const doneEvent = "data: [DONE]\n\n"

// replyOK streams a whole, well-formed reply.
func replyOK(w http.ResponseWriter, parts ...string) {
	startSSE(w)
	for _, p := range parts {
		send(w, contentEvent(p))
	}
	send(w, finishEvent("stop"), usageEvent(10, len(parts)), doneEvent)
}

// holdUntilGone blocks until the client went away (or the test gave up), so
// that handlers never outlive the server.
func holdUntilGone(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

// --- what the caller sees ---

type deltas struct {
	content   strings.Builder
	reasoning strings.Builder
	n         int
}

func (d *deltas) on(delta ports.Delta) error {
	d.content.WriteString(delta.Content)
	d.reasoning.WriteString(delta.Reasoning)
	d.n++
	return nil
}

// wantCode fails unless err is a domain error with this kind and code, and
// returns a copy of it.
func wantCode(t *testing.T, err error, kind domain.ErrorKind, code string) domain.Error {
	t.Helper()
	de, ok := domain.AsError(err)
	if !ok {
		t.Fatalf("error = %v (%T), want a domain error %s/%s", err, err, kind, code)
	}
	if de.Kind != kind || de.Code != code {
		t.Fatalf("error = %s/%s (%q), want %s/%s", de.Kind, de.Code, de.Detail, kind, code)
	}
	return *de
}

func wantDetail(t *testing.T, de domain.Error, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(de.Detail, p) {
			t.Errorf("detail %q does not contain %q", de.Detail, p)
		}
	}
}

func stream(t *testing.T, c *Client, req ports.CompletionRequest) (ports.Completion, *deltas, error) {
	t.Helper()
	var d deltas
	comp, err := c.Stream(context.Background(), req, d.on)
	return comp, &d, err
}

func mustNotFail(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		var de *domain.Error
		if errors.As(err, &de) {
			t.Fatalf("unexpected error %s/%s: %s", de.Kind, de.Code, de.Detail)
		}
		t.Fatalf("unexpected error: %v", err)
	}
}
