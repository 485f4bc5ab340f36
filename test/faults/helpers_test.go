package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/llmsim"
	"github.com/chatd/chatd/test/harness"
)

const (
	sessionsPath = "/api/v1/chat/sessions"
	readyPath    = "/api/v1/health/ready"
)

// final are the statuses a reply ends in.
var final = map[string]bool{"completed": true, "failed": true, "cancelled": true, "interrupted": true}

var modelSeq atomic.Int64

// model is a model name no other test uses, followed by llmsim directives
// ("fault-3+tokens=60+tps=10"); llmsim answers any name.
func model(directives ...string) string {
	name := fmt.Sprintf("fault-%d", modelSeq.Add(1))
	if len(directives) == 0 {
		return name
	}
	return name + "+" + strings.Join(directives, "+")
}

// replyRequests counts the streaming requests for llmModel that reached the simulator.
func replyRequests(sim *llmsim.Server, llmModel string) int {
	n := 0
	for _, r := range sim.Requests() {
		if r.Stream && r.Model == llmModel {
			n++
		}
	}
	return n
}

func messagesPath(sid string) string { return sessionsPath + "/" + sid + "/messages" }

// message is a stored message as the API lists it.
type message struct {
	ID             string  `json:"id"`
	SessionID      string  `json:"session_id"`
	ParentID       *string `json:"parent_id"`
	Role           string  `json:"role"`
	Content        string  `json:"content"`
	Status         string  `json:"status"`
	IsStreaming    bool    `json:"is_streaming"`
	ErrorMessage   *string `json:"error_message"`
	ResponseTimeMS *int    `json:"response_time_ms"`
}

func (m message) String() string {
	e := "<nil>"
	if m.ErrorMessage != nil {
		e = *m.ErrorMessage
	}
	return fmt.Sprintf("{%s %s status=%s streaming=%v error=%q content=%.120q}", m.Role, m.ID, m.Status, m.IsStreaming, e, m.Content)
}

// answer is what one bounded request got: a response or an error.
type answer struct {
	Status int
	Header http.Header
	Body   []byte
	Took   time.Duration
	Err    error
}

func (a answer) String() string {
	if a.Err != nil {
		return fmt.Sprintf("no answer after %v: %v", a.Took.Round(time.Millisecond), a.Err)
	}
	return fmt.Sprintf("%d after %v: %.300s", a.Status, a.Took.Round(time.Millisecond), a.Body)
}

// call sends one request bounded by timeout and checks any answer against
// the OpenAPI document. Unlike harness.Client it never stops the test, so
// goroutines and probes of a broken server may use it.
func call(t testing.TB, srv *harness.Server, token, method, path string, body any, timeout time.Duration) answer {
	return send(t, true, srv, token, method, path, body, timeout)
}

// callUnchecked is call without the OpenAPI check, for answers a known bug
// makes invalid (a test of their own checks them).
func callUnchecked(t testing.TB, srv *harness.Server, token, method, path string, body any, timeout time.Duration) answer {
	return send(t, false, srv, token, method, path, body, timeout)
}

func send(t testing.TB, check bool, srv *harness.Server, token, method, path string, body any, timeout time.Duration) answer {
	var reader io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return answer{Err: err}
		}
		reader = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, srv.URL+path, reader)
	if err != nil {
		return answer{Err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{Took: time.Since(start), Err: err}
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	a := answer{Status: resp.StatusCode, Header: resp.Header, Body: raw, Took: time.Since(start), Err: err}
	if err == nil && check {
		harness.LoadSpec(t).Check(t, req, resp.StatusCode, resp.Header, raw)
	}
	return a
}

// problemError explains why a is not an RFC 9457 answer with status want ("" when it is).
func problemError(a answer, want int) string {
	if a.Err != nil || a.Status != want {
		return fmt.Sprintf("want %d problem+json, got %v", want, a)
	}
	if ct := a.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		return fmt.Sprintf("content type %q, want application/problem+json: %v", ct, a)
	}
	var p struct {
		Type   string `json:"type"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	if err := json.Unmarshal(a.Body, &p); err != nil || p.Status != want || p.Type == "" || p.Detail == "" {
		return fmt.Sprintf("incomplete problem (%v): %v", err, a)
	}
	return ""
}

// newSession creates a LOCAL session with a title (so no naming request
// reaches the model) and returns its id.
func newSession(t testing.TB, c *harness.Client, llmModel string) string {
	t.Helper()
	body := map[string]any{"llm_provider": "LOCAL", "llm_model": llmModel, "title": "faults"}
	var s struct {
		ID string `json:"id"`
	}
	c.Do("POST", sessionsPath, body).Expect(http.StatusCreated).JSON(&s)
	return s.ID
}

// sendResult is the 201 of a post.
type sendResult struct {
	User  message  `json:"user_message"`
	Reply *message `json:"assistant_message"`
}

// post posts content (asking for a reply or not) and expects 201.
func post(t testing.TB, c *harness.Client, sid, content string, reply bool) sendResult {
	t.Helper()
	var res sendResult
	c.Do("POST", messagesPath(sid), map[string]any{"content": content, "process_llm": reply}).
		Expect(http.StatusCreated).JSON(&res)
	if res.User.Content != content || (reply && res.Reply == nil) {
		t.Fatalf("post answered %+v", res)
	}
	return res
}

// listMessages lists a session's messages, oldest first.
func listMessages(t testing.TB, c *harness.Client, sid string) []message {
	t.Helper()
	var body struct {
		Messages []message `json:"messages"`
	}
	c.Do("GET", messagesPath(sid)+"?page_size=100", nil).Expect(http.StatusOK).JSON(&body)
	return body.Messages
}

func find(ms []message, id string) (message, bool) {
	for _, m := range ms {
		if m.ID == id {
			return m, true
		}
	}
	return message{}, false
}

// await polls the stored message until ok accepts it.
func await(t testing.TB, c *harness.Client, sid, id string, within time.Duration, what string, ok func(message) bool) message {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		m, found := find(listMessages(t, c, sid), id)
		if !found {
			t.Fatalf("message %s is not stored", id)
		}
		if ok(m) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s not %s after %v: %v", id, what, within, m)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// awaitFinal waits until the reply has ended.
func awaitFinal(t testing.TB, c *harness.Client, sid, id string, within time.Duration) message {
	t.Helper()
	return await(t, c, sid, id, within, "final", func(m message) bool { return final[m.Status] })
}

// awaitText waits until some of the reply's text is stored (the generator
// flushes at least every second): the reply is streaming for sure.
func awaitText(t testing.TB, c *harness.Client, sid, id string) message {
	t.Helper()
	return await(t, c, sid, id, 15*time.Second, "streaming with text", func(m message) bool {
		if final[m.Status] {
			t.Fatalf("reply ended before the fault: %v", m)
		}
		return m.Content != ""
	})
}

// checkEnded checks the promises about a reply whatever its end: final, not
// streaming, its text a prefix of what llmsim sent for prompt, and the
// whole text when it completed.
func checkEnded(t testing.TB, reply message, prompt string, tokens int) {
	t.Helper()
	want := llmsim.ExpectedReply(prompt, tokens)
	if !final[reply.Status] || reply.IsStreaming {
		t.Fatalf("reply did not end: %v", reply)
	}
	if !strings.HasPrefix(want, reply.Content) {
		t.Fatalf("stored reply text is not a prefix of what the model sent\n got %q\nwant a prefix of %q", reply.Content, want)
	}
	if reply.Status == "completed" && reply.Content != want {
		t.Fatalf("completed reply holds %d of %d bytes: %q", len(reply.Content), len(want), reply.Content)
	}
}

// checkUserStored checks that the user message that got a 201 is stored as posted.
func checkUserStored(t testing.TB, ms []message, user message) {
	t.Helper()
	m, ok := find(ms, user.ID)
	if !ok || m.Content != user.Content || m.Role != "user" || m.Status != "completed" {
		t.Fatalf("user message %s (%.60q) stored as %v (found %v)", user.ID, user.Content, m, ok)
	}
}

// until polls fn every 100 ms until it reports true or within passes.
func until(within time.Duration, fn func() bool) bool {
	deadline := time.Now().Add(within)
	for {
		if fn() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}
