package process

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

// api is one user of a chatd process, over real HTTP; every answer is held
// against the published OpenAPI document.
type api struct {
	t            *testing.T
	base         string
	http         *http.Client
	token        string
	refreshToken string
	userID       string
}

func newAPI(t *testing.T, p *chatd) *api {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &api{t: t, base: p.URL, http: &http.Client{Timeout: 30 * time.Second, Transport: tr}}
}

// on is the same user talking to another process (after a restart).
func (a *api) on(p *chatd) *api {
	b := newAPI(a.t, p)
	b.token, b.refreshToken, b.userID = a.token, a.refreshToken, a.userID
	return b
}

// answer is an HTTP response, read whole.
type answer struct {
	method, path string
	status       int
	header       http.Header
	body         []byte
}

func (r *answer) expect(t *testing.T, want int) *answer {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s %s: status %d, want %d; body: %.600s", r.method, r.path, r.status, want, r.body)
	}
	return r
}

func (r *answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%s %s: decode %.300s: %v", r.method, r.path, r.body, err)
	}
}

// request builds a request with the user's token; body is JSON unless it is
// a string (sent as is, still labelled JSON).
func (a *api) request(ctx context.Context, method, path string, body any) *http.Request {
	a.t.Helper()
	var reader io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		reader = bytes.NewReader([]byte(b))
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			a.t.Fatalf("encode body: %v", err)
		}
		reader = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, reader)
	if err != nil {
		a.t.Fatalf("build request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	return req
}

// do sends a request and checks the answer against the OpenAPI document.
func (a *api) do(method, path string, body any) *answer {
	a.t.Helper()
	req := a.request(context.Background(), method, path, body)
	resp, err := a.http.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	harness.LoadSpec(a.t).Check(a.t, req, resp.StatusCode, resp.Header, raw)
	return &answer{method: method, path: path, status: resp.StatusCode, header: resp.Header, body: raw}
}

type tokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	User         struct {
		ID   string `json:"id"`
		Role string `json:"role"`
	} `json:"user"`
}

func (a *api) keep(r *answer) tokenPair {
	a.t.Helper()
	var p tokenPair
	r.decode(a.t, &p)
	if p.AccessToken == "" || p.RefreshToken == "" || p.User.ID == "" {
		a.t.Fatalf("%s %s: no tokens in %.300s", r.method, r.path, r.body)
	}
	a.token, a.refreshToken, a.userID = p.AccessToken, p.RefreshToken, p.User.ID
	return p
}

var emailSeq atomic.Int64

// uniqueEmail returns an address no other test uses.
func uniqueEmail(prefix string) string {
	return fmt.Sprintf("%s-%d-%d@example.com", prefix, time.Now().UnixNano(), emailSeq.Add(1))
}

// register opens an account and keeps its tokens.
func (a *api) register(email, password string) tokenPair {
	a.t.Helper()
	r := a.do(http.MethodPost, "/api/v1/auth/register", map[string]any{
		"email": email, "password": password, "display_name": "Process Test",
	}).expect(a.t, http.StatusCreated)
	return a.keep(r)
}

// login exchanges credentials for tokens and keeps them.
func (a *api) login(email, password string) tokenPair {
	a.t.Helper()
	return a.keep(a.do(http.MethodPost, "/api/v1/auth/login", map[string]any{
		"email": email, "password": password,
	}).expect(a.t, http.StatusOK))
}

// newSession creates a session on provider with model and returns its id.
func (a *api) newSession(provider, model string) string {
	a.t.Helper()
	var s struct {
		ID string `json:"id"`
	}
	a.do(http.MethodPost, "/api/v1/chat/sessions", map[string]any{
		"title": "process test", "llm_provider": provider, "llm_model": model,
	}).expect(a.t, http.StatusCreated).decode(a.t, &s)
	return s.ID
}

// message is the part of a ChatMessage these tests look at.
type message struct {
	ID              string         `json:"id"`
	Role            string         `json:"role"`
	Content         string         `json:"content"`
	Status          string         `json:"status"`
	IsStreaming     bool           `json:"is_streaming"`
	ErrorMessage    *string        `json:"error_message"`
	MessageMetadata map[string]any `json:"message_metadata"`
}

// messages lists a session's messages, oldest first.
func (a *api) messages(sessionID string) []message {
	a.t.Helper()
	var page struct {
		Messages []message `json:"messages"`
	}
	a.do(http.MethodGet, "/api/v1/chat/sessions/"+sessionID+"/messages?page_size=100", nil).
		expect(a.t, http.StatusOK).decode(a.t, &page)
	return page.Messages
}

// message finds one message of a session by id.
func (a *api) message(sessionID, id string) message {
	a.t.Helper()
	for _, m := range a.messages(sessionID) {
		if m.ID == id {
			return m
		}
	}
	a.t.Fatalf("message %s is not in session %s", id, sessionID)
	return message{}
}

// post sends a message without waiting for its reply and returns the user
// message and the reply's placeholder.
func (a *api) post(sessionID, content string) (user message, reply message) {
	a.t.Helper()
	var created struct {
		UserMessage      message  `json:"user_message"`
		AssistantMessage *message `json:"assistant_message"`
	}
	a.do(http.MethodPost, "/api/v1/chat/sessions/"+sessionID+"/messages", map[string]any{"content": content}).
		expect(a.t, http.StatusCreated).decode(a.t, &created)
	if created.AssistantMessage == nil {
		a.t.Fatalf("posting to %s started no reply", sessionID)
	}
	return created.UserMessage, *created.AssistantMessage
}
