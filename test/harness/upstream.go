package harness

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/adapters/bootstrap"
	"github.com/chatd/chatd/internal/llmsim"
)

// UpstreamKey is the OpenRouter API key WithUpstream configures. Tests look
// for it in what reaches each simulated provider.
const UpstreamKey = "sk-or-v1-chatd-e2e-0123456789abcdef0123456789abcdef"

// Upstream is an llmsim.Server on a real loopback socket: the only fake in
// the end-to-end tests of model replies. It speaks the real SSE wire.
type Upstream struct {
	*llmsim.Server
	// URL is the base URL of its OpenAI-compatible API (ending in /v1), as
	// CHAT_LOCAL_BASE_URL or CHAT_OPENROUTER_BASE_URL take it.
	URL string
	ts  *httptest.Server
}

// StartUpstream serves a new simulator with these defaults until the test
// ends (or Close).
func StartUpstream(t testing.TB, opts llmsim.Options) *Upstream {
	t.Helper()
	sim := llmsim.New(opts)
	ts := httptest.NewServer(sim.Handler())
	u := &Upstream{Server: sim, URL: ts.URL + "/v1", ts: ts}
	t.Cleanup(u.Close)
	return u
}

// Close releases requests the simulator holds (stalls), then stops the
// listener and waits for its handlers. Calling it twice is harmless.
func (u *Upstream) Close() {
	u.Server.Close()
	u.ts.Close()
}

// WithUpstream starts a simulator and points both providers of cfg at it,
// with UpstreamKey as the OpenRouter key. Call it before Start; the
// simulator is closed after the server stops (cleanups run in reverse).
func WithUpstream(t testing.TB, cfg *bootstrap.Config, opts llmsim.Options) *llmsim.Server {
	t.Helper()
	u := StartUpstream(t, opts)
	cfg.LocalBaseURL = u.URL
	cfg.OpenRouterBaseURL = u.URL
	cfg.OpenRouterAPIKey = UpstreamKey
	return u.Server
}

// WithUpstreams gives each provider its own simulator, so that a test can
// tell which provider a request went to (and which headers it carried).
func WithUpstreams(t testing.TB, cfg *bootstrap.Config, local, router llmsim.Options) (localSim, routerSim *llmsim.Server) {
	t.Helper()
	l, r := StartUpstream(t, local), StartUpstream(t, router)
	cfg.LocalBaseURL = l.URL
	cfg.OpenRouterBaseURL = r.URL
	cfg.OpenRouterAPIKey = UpstreamKey
	return l.Server, r.Server
}

// ClosedUpstreamURL is a base URL on a loopback port nobody listens on: a
// provider that cannot be reached.
func ClosedUpstreamURL(t testing.TB) string {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("reserve a port: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("close the reserved port: %v", err)
	}
	return "http://" + addr + "/v1"
}

// WriteReply answers a request the way the simulator does by default, with
// a reply of n tokens (llmsim.ReplyTokens of the last user message) and
// finish_reason "stop": as a stream with usage when the request streams,
// else as one chat.completion object. Scripts use it for the requests they
// let through.
func WriteReply(req llmsim.Request, w *llmsim.StreamWriter, n int) {
	tokens := llmsim.ReplyTokens(req.LastUserMessage(), n)
	prompt := llmsim.PromptTokens(req.Messages)
	if !req.Stream {
		body, _ := json.Marshal(map[string]any{
			"id": "chatcmpl-script", "object": "chat.completion", "created": req.Received.Unix(), "model": req.Model,
			"choices": []any{map[string]any{
				"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": strings.Join(tokens, "")},
			}},
			"usage": map[string]any{"prompt_tokens": prompt, "completion_tokens": len(tokens), "total_tokens": prompt + len(tokens)},
		})
		w.Status(http.StatusOK, string(body))
		return
	}
	for _, tok := range tokens {
		w.Chunk(tok)
	}
	w.Finish("stop")
	if req.IncludeUsage() {
		w.Usage(prompt, len(tokens))
	}
	w.Done()
}

// Completions returns the recorded requests that streamed (replies) or did
// not (session titles), in arrival order, for the model name (with any
// directives after it: "sim-1" matches "sim-1+tokens=5").
func Completions(sim *llmsim.Server, name string, stream bool) []llmsim.Request {
	var out []llmsim.Request
	for _, r := range sim.Requests() {
		if r.Stream == stream && (r.Model == name || strings.HasPrefix(r.Model, name+"+")) {
			out = append(out, r)
		}
	}
	return out
}
