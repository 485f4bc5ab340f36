package harness

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
)

// Client is one API user with a real HTTP client.
type Client struct {
	srv          *Server
	t            testing.TB
	http         *http.Client
	Token        string
	RefreshToken string
	UserID       string
	Email        string
}

// Client returns an anonymous client; Register or Login authenticates it.
func (s *Server) Client(t testing.TB) *Client {
	return &Client{srv: s, t: t, http: &http.Client{Timeout: 30 * time.Second}}
}

var userSeq atomic.Int64

// NewUser registers a fresh user and returns a client logged in as them.
func (s *Server) NewUser(t testing.TB) *Client {
	t.Helper()
	c := s.Client(t)
	c.Register(fmt.Sprintf("user%d-%d@example.com", time.Now().UnixNano(), userSeq.Add(1)), "correct horse battery")
	return c
}

// Register opens an account and keeps its tokens.
func (c *Client) Register(email, password string) *Response {
	c.t.Helper()
	r := c.Do("POST", "/api/v1/auth/register", map[string]any{
		"email": email, "password": password, "display_name": strings.Split(email, "@")[0],
	}).Expect(http.StatusCreated)
	c.keep(r)
	return r
}

// Login exchanges credentials and keeps the tokens when it works.
func (c *Client) Login(email, password string) *Response {
	c.t.Helper()
	r := c.Do("POST", "/api/v1/auth/login", map[string]any{"email": email, "password": password})
	if r.Status == http.StatusOK {
		c.keep(r)
	}
	return r
}

func (c *Client) keep(r *Response) {
	var body struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		User         struct {
			ID    string `json:"id"`
			Email string `json:"email"`
		} `json:"user"`
	}
	r.JSON(&body)
	c.Token, c.RefreshToken, c.UserID, c.Email = body.AccessToken, body.RefreshToken, body.User.ID, body.User.Email
}

// Header sets one request header.
type Header struct{ Name, Value string }

// Do sends a request. body may be nil, a string or []byte (sent as is, for
// hostile input), or any value (sent as JSON). Headers override defaults; an
// empty value removes one. The response is checked against the OpenAPI document.
func (c *Client) Do(method, path string, body any, headers ...Header) *Response {
	c.t.Helper()
	var reader io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		reader = strings.NewReader(b)
	case []byte:
		reader = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			c.t.Fatalf("encode body: %v", err)
		}
		reader = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, c.srv.URL+path, reader)
	if err != nil {
		c.t.Fatalf("build request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	for _, h := range headers {
		if h.Value == "" {
			req.Header.Del(h.Name)
		} else {
			req.Header.Set(h.Name, h.Value)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	r := &Response{t: c.t, Method: method, Path: path, Status: resp.StatusCode, Header: resp.Header, Body: raw}
	if resp.Header.Get("X-Request-ID") == "" {
		c.t.Errorf("%s %s: no X-Request-ID on the response", method, path)
	}
	c.srv.spec.Check(c.t, req, resp.StatusCode, resp.Header, raw)
	return r
}

// Response is what the server answered.
type Response struct {
	t      testing.TB
	Method string
	Path   string
	Status int
	Header http.Header
	Body   []byte
}

// Expect fails the test unless the status is want.
func (r *Response) Expect(want int) *Response {
	r.t.Helper()
	if r.Status != want {
		r.t.Fatalf("%s %s: status %d, want %d; body: %.800s", r.Method, r.Path, r.Status, want, r.Body)
	}
	return r
}

// JSON decodes the body into v.
func (r *Response) JSON(v any) {
	r.t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		r.t.Fatalf("%s %s: decode %.300s: %v", r.Method, r.Path, r.Body, err)
	}
}

// Map decodes the body as a JSON object.
func (r *Response) Map() map[string]any {
	r.t.Helper()
	var m map[string]any
	r.JSON(&m)
	return m
}

// Problem is an RFC 9457 body.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Instance  string `json:"instance"`
	RequestID string `json:"request_id"`
	Errors    []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

// Problem expects a problem+json answer with status want and returns it.
func (r *Response) Problem(want int) Problem {
	r.t.Helper()
	r.Expect(want)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		r.t.Fatalf("%s %s: content type %q, want application/problem+json", r.Method, r.Path, ct)
	}
	var p Problem
	r.JSON(&p)
	if p.Status != want || p.Detail == "" || p.Type == "" || p.Title == "" {
		r.t.Fatalf("%s %s: incomplete problem %+v", r.Method, r.Path, p)
	}
	return p
}
