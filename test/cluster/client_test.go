package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/test/harness"
)

// user is one account, talking to whichever process a test names, as a
// client behind a load balancer would. Every answer is held against the
// published OpenAPI document.
type user struct {
	t      *testing.T
	name   string // for messages
	email  string
	token  string
	userID string
	http   *http.Client
}

const testPassword = "correct horse battery staple"

var emailSeq atomic.Int64

// newUser registers an account through p.
func newUser(t *testing.T, p *chatd, name string) *user {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	u := &user{t: t, name: name, http: &http.Client{Timeout: 30 * time.Second, Transport: tr}}
	u.email = fmt.Sprintf("cluster-%s-%d-%d@example.com", name, time.Now().UnixNano(), emailSeq.Add(1))
	var pair struct {
		AccessToken string `json:"access_token"`
		User        struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	u.do(p, http.MethodPost, "/api/v1/auth/register", map[string]any{
		"email": u.email, "password": testPassword, "display_name": "Cluster " + name,
	}).expect(t, http.StatusCreated).decode(t, &pair)
	if pair.AccessToken == "" || pair.User.ID == "" {
		t.Fatalf("registering %s on %s gave no token or id", name, p.name)
	}
	u.token, u.userID = pair.AccessToken, pair.User.ID
	return u
}

// answer is an HTTP response, read whole.
type answer struct {
	method, path, process string
	status                int
	header                http.Header
	body                  []byte
}

func (a *answer) String() string {
	return fmt.Sprintf("%s %s on %s: %d %.400s", a.method, a.path, a.process, a.status, a.body)
}

func (a *answer) expect(t *testing.T, want int) *answer {
	t.Helper()
	if a.status != want {
		t.Fatalf("%s, want status %d", a, want)
	}
	return a
}

func (a *answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("%s: decode: %v", a, err)
	}
}

// try sends a request to p and reads the answer; transport errors (a
// process that is stopping, a refused connection) are returned, not fatal,
// so goroutines may use it.
func (u *user) try(p *chatd, method, path string, body any) (*answer, error) {
	var reader io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode body: %w", err)
		}
		reader = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, p.URL+path, reader)
	if err != nil {
		return nil, fmt.Errorf("build %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if u.token != "" {
		req.Header.Set("Authorization", "Bearer "+u.token)
	}
	resp, err := u.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s on %s: %w", method, path, p.name, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s on %s: read body: %w", method, path, p.name, err)
	}
	harness.LoadSpec(u.t).Check(u.t, req, resp.StatusCode, resp.Header, raw)
	return &answer{method: method, path: path, process: p.name, status: resp.StatusCode, header: resp.Header, body: raw}, nil
}

// do is try for the test's goroutine: a transport error fails the test.
func (u *user) do(p *chatd, method, path string, body any) *answer {
	u.t.Helper()
	a, err := u.try(p, method, path, body)
	if err != nil {
		u.t.Fatal(err)
	}
	return a
}

// newSession creates a session of the LOCAL provider with model through p.
func (u *user) newSession(p *chatd, model string) string {
	u.t.Helper()
	var s struct {
		ID string `json:"id"`
	}
	u.do(p, http.MethodPost, "/api/v1/chat/sessions", map[string]any{
		"title": "cluster test", "llm_provider": "LOCAL", "llm_model": model,
	}).expect(u.t, http.StatusCreated).decode(u.t, &s)
	return s.ID
}

// addMember makes other a member of the session.
func (u *user) addMember(p *chatd, sessionID string, other *user) {
	u.t.Helper()
	u.do(p, http.MethodPost, "/api/v1/chat/sessions/"+sessionID+"/participants", map[string]any{
		"user_id": other.userID, "role": "member",
	}).expect(u.t, http.StatusCreated)
}

// message is the part of a ChatMessage these tests look at.
type message struct {
	ID           string  `json:"id"`
	Role         string  `json:"role"`
	Content      string  `json:"content"`
	Status       string  `json:"status"`
	IsStreaming  bool    `json:"is_streaming"`
	ErrorMessage *string `json:"error_message"`
}

// finished reports whether a message's status is final.
func (m message) finished() bool { return m.Status != "pending" && m.Status != "streaming" }

// posted is the answer to a post: the user message and the reply started.
type posted struct {
	User  message  `json:"user_message"`
	Reply *message `json:"assistant_message"`
}

// tryPost posts content through p; a status other than 201 is returned
// with the answer for the caller to judge.
func (u *user) tryPost(p *chatd, sessionID, content string) (posted, *answer, error) {
	return u.tryPostBody(p, sessionID, map[string]any{"content": content})
}

// tryPostBody is tryPost with the whole body (content, llm_model...).
func (u *user) tryPostBody(p *chatd, sessionID string, body map[string]any) (posted, *answer, error) {
	var out posted
	a, err := u.try(p, http.MethodPost, "/api/v1/chat/sessions/"+sessionID+"/messages", body)
	if err != nil {
		return out, nil, err
	}
	if a.status != http.StatusCreated {
		return out, a, nil
	}
	if err := json.Unmarshal(a.body, &out); err != nil {
		return out, a, fmt.Errorf("%s: decode: %w", a, err)
	}
	if out.User.ID == "" || out.Reply == nil || out.Reply.ID == "" {
		return out, a, fmt.Errorf("%s: no user message or no reply started", a)
	}
	return out, a, nil
}

// post posts content through p and expects 201 with a reply started.
func (u *user) post(p *chatd, sessionID, content string) posted {
	u.t.Helper()
	return u.postBody(p, sessionID, map[string]any{"content": content})
}

// postBody is post with the whole body (content, llm_model...).
func (u *user) postBody(p *chatd, sessionID string, body map[string]any) posted {
	u.t.Helper()
	out, a, err := u.tryPostBody(p, sessionID, body)
	if err != nil {
		u.t.Fatal(err)
	}
	a.expect(u.t, http.StatusCreated)
	return out
}

// tryMessages lists a session's messages (every branch, oldest first).
func (u *user) tryMessages(p *chatd, sessionID string) ([]message, error) {
	a, err := u.try(p, http.MethodGet, "/api/v1/chat/sessions/"+sessionID+"/messages?branch=all&page_size=100", nil)
	if err != nil {
		return nil, err
	}
	if a.status != http.StatusOK {
		return nil, fmt.Errorf("%s, want 200", a)
	}
	var page struct {
		Messages []message `json:"messages"`
		Total    int       `json:"total_count"`
	}
	if err := json.Unmarshal(a.body, &page); err != nil {
		return nil, fmt.Errorf("%s: decode: %w", a, err)
	}
	if page.Total > len(page.Messages) {
		return nil, fmt.Errorf("%s: %d messages, more than one page: the test should read them all", a, page.Total)
	}
	return page.Messages, nil
}

// messages lists a session's messages through p.
func (u *user) messages(p *chatd, sessionID string) []message {
	u.t.Helper()
	ms, err := u.tryMessages(p, sessionID)
	if err != nil {
		u.t.Fatal(err)
	}
	return ms
}

// message reads one message of a session through p.
func (u *user) message(p *chatd, sessionID, id string) message {
	u.t.Helper()
	for _, m := range u.messages(p, sessionID) {
		if m.ID == id {
			return m
		}
	}
	u.t.Fatalf("message %s is not in session %s (read through %s)", id, sessionID, p.name)
	return message{}
}

// waitFinished polls the message through p until its status is final.
func (u *user) waitFinished(p *chatd, sessionID, id string, timeout time.Duration) message {
	u.t.Helper()
	var last message
	saw, err := eventually(timeout, func() (bool, string) {
		ms, err := u.tryMessages(p, sessionID)
		if err != nil {
			return false, err.Error()
		}
		for _, m := range ms {
			if m.ID == id {
				last = m
				return m.finished(), fmt.Sprintf("status %s with %d bytes", m.Status, len(m.Content))
			}
		}
		return false, "the message is not listed"
	})
	if err != nil {
		u.t.Fatalf("reply %s (read through %s) did not finish: %v (%s)", id, p.name, err, saw)
	}
	return last
}
