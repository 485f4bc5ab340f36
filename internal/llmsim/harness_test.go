package llmsim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// harness is one simulator behind an httptest server and a client of its own.
type harness struct {
	sim    *Server
	url    string // root URL; the API is under /v1
	client *http.Client
}

// newHarness starts a simulator; cleanup closes the simulator before the
// httptest server so stalled handlers are released.
func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	sim := New(opts)
	ts := httptest.NewServer(sim.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(sim.Close)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &harness{sim: sim, url: ts.URL, client: &http.Client{Transport: tr}}
}

// fast are options for tests that do not measure time.
var fast = Options{ReplyTokens: 6}

type chatRequest struct {
	Model         string         `json:"model"`
	Messages      []chatMessage  `json:"messages"`
	Stream        bool           `json:"stream,omitempty"`
	StreamOptions map[string]any `json:"stream_options,omitempty"`
	MaxTokens     int            `json:"max_tokens,omitempty"`
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// chatBody is a request body with a system prompt and one user message.
func chatBody(model, user string, stream, usage bool) string {
	req := chatRequest{
		Model:    model,
		Messages: []chatMessage{{Role: "system", Content: "Be brief."}, {Role: "user", Content: user}},
		Stream:   stream,
	}
	if usage {
		req.StreamOptions = map[string]any{"include_usage": true}
	}
	b, _ := json.Marshal(req)
	return string(b)
}

// post sends a completion request; the caller closes the body.
func (h *harness) post(ctx context.Context, t *testing.T, body string, header http.Header) *http.Response {
	t.Helper()
	resp, err := h.do(ctx, body, header)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	return resp
}

func (h *harness) do(ctx context.Context, body string, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	return h.client.Do(req)
}

// head is the status line and headers of a response read to its end.
type head struct {
	StatusCode int
	Header     http.Header
}

// stream posts and reads the whole SSE response. It never stops the test,
// so goroutines may call it.
func (h *harness) stream(t *testing.T, body string) (head, []sseEvent, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	resp, err := h.do(ctx, body, nil)
	if err != nil {
		return head{}, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	events, err := readSSE(resp.Body, start)
	return head{resp.StatusCode, resp.Header}, events, err
}

// getJSON decodes a GET response and returns its status.
func (h *harness) getJSON(t *testing.T, path string, v any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, h.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("decode %s: %v", body, err)
		}
	}
	return resp.StatusCode
}

// waitFor fails the test when cond does not hold within 5 s.
func waitFor(t *testing.T, what string, wait func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := wait(ctx); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
