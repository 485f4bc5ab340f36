package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// api is chatd's HTTP API as the load generator uses it.
type api struct {
	base string // root URL; routes are under /api/v1
	http *http.Client
}

// user is an account the run registered.
type user struct {
	id    string
	email string
	token string
}

// statusError is a refusal from chatd, with the problem's detail.
type statusError struct {
	method, path string
	status       int
	body         string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.method, e.path, e.status, strings.TrimSpace(e.body))
}

// do sends a JSON request and decodes a JSON answer into out (when not nil).
func (a *api) do(ctx context.Context, method, path, token string, body, out any, want int) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return &statusError{method: method, path: path, status: resp.StatusCode, body: string(b)}
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// register creates an account and returns it with an access token.
func (a *api) register(ctx context.Context, email, password string) (user, error) {
	var out struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		AccessToken string `json:"access_token"`
	}
	body := map[string]string{"email": email, "password": password, "display_name": strings.Split(email, "@")[0]}
	if err := a.do(ctx, http.MethodPost, "/api/v1/auth/register", "", body, &out, http.StatusCreated); err != nil {
		return user{}, err
	}
	return user{id: out.User.ID, email: email, token: out.AccessToken}, nil
}

// registerUsers registers n users, a few at a time (password hashing is
// deliberately slow).
func (a *api) registerUsers(ctx context.Context, runID, password string, n int) ([]user, error) {
	users := make([]user, n)
	err := forEach(ctx, n, 4, func(ctx context.Context, i int) error {
		u, err := a.register(ctx, fmt.Sprintf("load-%s-%d@example.com", runID, i), password)
		users[i] = u
		return err
	})
	return users, err
}

// createSession creates a titled session (a titled session is not named by
// an extra model call after its first exchange).
func (a *api) createSession(ctx context.Context, token, provider, model string) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	body := map[string]string{"title": "load test", "llm_provider": provider, "llm_model": model}
	if err := a.do(ctx, http.MethodPost, "/api/v1/chat/sessions", token, body, &out, http.StatusCreated); err != nil {
		return "", err
	}
	return out.ID, nil
}

// postResult is what a 201 to a posted message holds.
type postResult struct {
	UserMessage struct {
		ID string `json:"id"`
	} `json:"user_message"`
	AssistantMessage *struct {
		ID string `json:"id"`
	} `json:"assistant_message"`
}

// post sends a message and returns the reply's id (the 201 answer).
func (a *api) post(ctx context.Context, token, sessionID, content, model string) (string, error) {
	var out postResult
	body := map[string]string{"content": content}
	if model != "" {
		body["llm_model"] = model
	}
	err := a.do(ctx, http.MethodPost, "/api/v1/chat/sessions/"+sessionID+"/messages", token, body, &out, http.StatusCreated)
	if err != nil {
		return "", err
	}
	if out.AssistantMessage == nil {
		return "", fmt.Errorf("post: no assistant_message in the answer")
	}
	return out.AssistantMessage.ID, nil
}

// postSSE sends a message with Accept: text/event-stream and returns the
// open stream; the caller closes its body.
func (a *api) postSSE(ctx context.Context, token, sessionID string, body []byte) (*http.Response, error) {
	path := "/api/v1/chat/sessions/" + sessionID + "/messages"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		_ = resp.Body.Close()
		return nil, &statusError{method: http.MethodPost, path: path, status: resp.StatusCode, body: string(b)}
	}
	return resp, nil
}

// messageBody is the JSON of a posted message.
func messageBody(content, model string) []byte {
	m := map[string]string{"content": content}
	if model != "" {
		m["llm_model"] = model
	}
	b, _ := json.Marshal(m)
	return b
}

// forEach runs fn(0..n-1) on at most par goroutines and returns the first error.
func forEach(ctx context.Context, n, par int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range min(par, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}
