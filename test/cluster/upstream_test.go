package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/llmsim"
)

// upstream is llmsim, in this test process, as every chatd's LOCAL model
// server. Each chatd process gets its own front (its own base URL) on the
// same simulator, so that every completion request is known by the process
// that made it; the front also keeps what was streamed back and when the
// caller hung up, which llmsim alone cannot attribute to a request.
type upstream struct {
	t   *testing.T
	sim *llmsim.Server

	mu      sync.Mutex
	fronts  map[string]*httptest.Server
	calls   []*upstreamCall
	changed chan struct{} // closed and replaced whenever calls grows
}

// startUpstream serves llmsim until the test ends. Start it before any chatd
// so that it outlives them (cleanups run last-in first-out).
func startUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{t: t, sim: llmsim.New(llmsim.Options{}), fronts: map[string]*httptest.Server{}, changed: make(chan struct{})}
	t.Cleanup(func() {
		u.sim.Close() // releases handlers still streaming
		u.mu.Lock()
		defer u.mu.Unlock()
		for _, f := range u.fronts {
			f.Close()
		}
	})
	return u
}

// urlFor is the base URL (ending in /v1) that the chatd process called name
// uses; the same name always gets the same front, across restarts.
func (u *upstream) urlFor(name string) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	f, ok := u.fronts[name]
	if !ok {
		f = httptest.NewServer(u.front(name))
		u.fronts[name] = f
	}
	return f.URL + "/v1"
}

// upstreamCall is one completion request a chatd process made.
type upstreamCall struct {
	process string // the chatd process that made it
	model   string
	prompt  string // the last user message
	started time.Time

	mu      sync.Mutex
	stream  bytes.Buffer // every byte written back
	ended   chan struct{}
	endedAt time.Time
	goneAt  time.Time // when the caller hung up before the answer's end; zero if it did not
}

// front records each completion request and hands it to the simulator.
func (u *upstream) front(process string) http.Handler {
	sim := u.sim.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/chat/completions") {
			sim.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		c := &upstreamCall{process: process, started: time.Now(), ended: make(chan struct{})}
		c.model, c.prompt = describeRequest(body)
		// The request's context ends when the caller hangs up, or when the
		// handler returns: only the first happens while the handler runs.
		stopWatching := context.AfterFunc(r.Context(), func() {
			c.mu.Lock()
			c.goneAt = time.Now()
			c.mu.Unlock()
		})
		u.add(c)
		defer func() {
			stopWatching()
			c.mu.Lock()
			c.endedAt = time.Now()
			c.mu.Unlock()
			close(c.ended)
		}()
		sim.ServeHTTP(&recordingWriter{ResponseWriter: w, call: c}, r)
	})
}

func (u *upstream) add(c *upstreamCall) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.calls = append(u.calls, c)
	close(u.changed)
	u.changed = make(chan struct{})
}

// describeRequest reads the model and the last user message of a
// chat-completions body; a body it cannot read gives empty strings.
func describeRequest(body []byte) (model, prompt string) {
	var req struct {
		Model    string `json:"model"`
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if json.Unmarshal(body, &req) != nil {
		return "", ""
	}
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == "user" {
			var s string
			if json.Unmarshal(req.Messages[i].Content, &s) == nil {
				prompt = s
			}
			break
		}
	}
	return req.Model, prompt
}

// recordingWriter keeps a copy of what the simulator writes. Unwrap lets
// llmsim's http.ResponseController flush (and hijack) the real writer.
type recordingWriter struct {
	http.ResponseWriter
	call *upstreamCall
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.call.mu.Lock()
	w.call.stream.Write(p[:n])
	w.call.mu.Unlock()
	return n, err
}

func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// callFor waits until a completion request whose last user message is
// prompt has arrived and returns the first such one.
func (u *upstream) callFor(prompt string, timeout time.Duration) (*upstreamCall, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		u.mu.Lock()
		for _, c := range u.calls {
			if c.prompt == prompt {
				u.mu.Unlock()
				return c, nil
			}
		}
		changed, n := u.changed, len(u.calls)
		u.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			return nil, fmt.Errorf("no completion request for %q reached the upstream within %v (%d requests arrived: %s)",
				prompt, timeout, n, u.summary())
		}
	}
}

// mustCallFor is callFor that fails the test.
func (u *upstream) mustCallFor(prompt string, timeout time.Duration) *upstreamCall {
	u.t.Helper()
	c, err := u.callFor(prompt, timeout)
	if err != nil {
		u.t.Fatal(err)
	}
	return c
}

// summary lists the requests so far by process and prompt, for messages.
func (u *upstream) summary() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var parts []string
	for _, c := range u.calls {
		parts = append(parts, fmt.Sprintf("%s:%q", c.process, clip(c.prompt, 40)))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// sent is the reply text streamed back so far: the content deltas of every
// complete SSE chunk written.
func (c *upstreamCall) sent() (text string, tokens int) {
	c.mu.Lock()
	raw := c.stream.String()
	c.mu.Unlock()
	var b strings.Builder
	for _, event := range strings.Split(raw, "\n\n") {
		data, ok := strings.CutPrefix(strings.TrimSpace(event), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var chunk struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if json.Unmarshal([]byte(data), &chunk) != nil {
			continue // the last chunk may be cut mid-write
		}
		for _, ch := range chunk.Choices {
			if ch.Delta.Content != "" {
				b.WriteString(ch.Delta.Content)
				tokens++
			}
		}
	}
	return b.String(), tokens
}

// waitTokens waits until at least n content tokens were streamed back.
func (c *upstreamCall) waitTokens(n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		_, got := c.sent()
		if got >= n {
			return nil
		}
		if c.isEnded() {
			return fmt.Errorf("the upstream request of %s for %q ended after %d tokens, want at least %d", c.process, clip(c.prompt, 40), got, n)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the upstream request of %s for %q streamed %d tokens in %v, want at least %d", c.process, clip(c.prompt, 40), got, timeout, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (c *upstreamCall) isEnded() bool {
	select {
	case <-c.ended:
		return true
	default:
		return false
	}
}

// hungUp reports whether and when the caller went away before the answer's
// end. A caller that closes the connection right after [DONE], before the
// handler has returned, did not hang up early.
func (c *upstreamCall) hungUp() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.goneAt.IsZero() || bytes.Contains(c.stream.Bytes(), []byte("data: [DONE]")) {
		return time.Time{}, false
	}
	return c.goneAt, true
}

// waitEnded waits until the simulator's handler returned.
func (c *upstreamCall) waitEnded(timeout time.Duration) error {
	select {
	case <-c.ended:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("the upstream request of %s for %q was still open after %v", c.process, clip(c.prompt, 40), timeout)
	}
}

// replyFor is the whole reply llmsim gives to content in tokens tokens.
func replyFor(content string, tokens int) string { return llmsim.ExpectedReply(content, tokens) }

// simModel is a model name that makes llmsim answer tokens tokens at tps
// tokens a second (0: as fast as it can).
func simModel(tokens int, tps float64) string {
	if tps <= 0 {
		return fmt.Sprintf("sim-small+tokens=%d", tokens)
	}
	return fmt.Sprintf("sim-small+tokens=%d+tps=%g", tokens, tps)
}
