package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// SSEEvent is one Server-Sent Event as it came over the wire.
type SSEEvent struct {
	ID    string // the id field ("" when absent)
	Event string // the event field ("" when absent)
	Data  []byte // the data lines joined by "\n"
}

// Frame is the envelope chatd's events share on the WebSocket and in SSE.
type Frame struct {
	Type      string          `json:"type"`
	SessionID string          `json:"session_id"`
	Seq       int64           `json:"seq"`
	Data      json.RawMessage `json:"data"`
}

// Frame decodes the event's data as the envelope.
func (e SSEEvent) Frame(t testing.TB) Frame {
	t.Helper()
	var f Frame
	if err := json.Unmarshal(e.Data, &f); err != nil {
		t.Fatalf("SSE event %q: data %.300s is not a frame: %v", e.Event, e.Data, err)
	}
	return f
}

// SSE is an answer read as an event stream, one event at a time. When the
// server did not answer with an event stream, Body holds the whole answer
// (already checked against the OpenAPI document).
type SSE struct {
	t        testing.TB
	srv      *Server
	req      *http.Request
	resp     *http.Response
	cancel   context.CancelFunc
	r        *bufio.Reader
	raw      bytes.Buffer
	done     bool
	Status   int
	Header   http.Header
	Body     []byte
	Comments []string // comment lines seen so far (": keep-alive")
}

// sseTimeout bounds a whole streamed answer in the tests.
const sseTimeout = 60 * time.Second

// PostSSE sends a POST with `Accept: text/event-stream` and returns the
// answer unread. Close it (a test cleanup does too).
func (c *Client) PostSSE(path string, body any, headers ...Header) *SSE {
	c.t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		c.t.Fatalf("encode body: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), sseTimeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.srv.URL+path, bytes.NewReader(raw))
	if err != nil {
		cancel()
		c.t.Fatalf("build request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
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
	// No client timeout: it would cut the stream; the context bounds it.
	resp, err := (&http.Client{}).Do(req) //nolint:bodyclose // SSE.Close closes it (also a test cleanup)
	if err != nil {
		cancel()
		c.t.Fatalf("POST %s: %v", path, err)
	}
	s := &SSE{t: c.t, srv: c.srv, req: req, resp: resp, cancel: cancel, Status: resp.StatusCode, Header: resp.Header}
	c.t.Cleanup(s.Close)
	if resp.Header.Get("X-Request-ID") == "" {
		c.t.Errorf("POST %s: no X-Request-ID on the response", path)
	}
	if !s.IsStream() {
		s.Body, err = io.ReadAll(resp.Body)
		if err != nil {
			c.t.Fatalf("POST %s: read body: %v", path, err)
		}
		s.finish()
		return s
	}
	s.r = bufio.NewReader(io.TeeReader(resp.Body, &s.raw))
	return s
}

// IsStream reports a 200 text/event-stream answer.
func (s *SSE) IsStream() bool {
	return s.Status == http.StatusOK && strings.HasPrefix(s.Header.Get("Content-Type"), "text/event-stream")
}

// Next reads the next event; ok is false at the end of the stream.
func (s *SSE) Next() (e SSEEvent, ok bool) {
	s.t.Helper()
	if s.r == nil || s.done {
		return SSEEvent{}, false
	}
	var data []string
	seen := false
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) && line == "" && !seen {
				s.finish()
				return SSEEvent{}, false
			}
			if errors.Is(err, io.EOF) {
				s.t.Fatalf("SSE stream ended inside an event (%q)", line)
			}
			s.t.Fatalf("read SSE stream: %v", err)
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		switch {
		case line == "":
			if !seen {
				continue
			}
			e.Data = []byte(strings.Join(data, "\n"))
			return e, true
		case strings.HasPrefix(line, ":"):
			s.Comments = append(s.Comments, strings.TrimSpace(line[1:]))
			continue
		}
		seen = true
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			e.ID = value
		case "event":
			e.Event = value
		case "data":
			data = append(data, value)
		default:
			s.t.Errorf("SSE stream: unknown field in %q", line)
		}
	}
}

// All reads every event left until the stream ends.
func (s *SSE) All() []SSEEvent {
	s.t.Helper()
	var out []SSEEvent
	for {
		e, ok := s.Next()
		if !ok {
			return out
		}
		out = append(out, e)
	}
}

// Close ends the request and checks the answer against the OpenAPI
// document. Calling it twice is harmless.
func (s *SSE) Close() {
	if s.done {
		return
	}
	s.cancel()
	_ = s.resp.Body.Close()
	s.done = true
}

// finish runs when the answer was read to its end.
func (s *SSE) finish() {
	if s.done {
		return
	}
	body := s.Body
	if body == nil {
		body = s.raw.Bytes()
	}
	s.srv.spec.Check(s.t, s.req, s.Status, s.Header, body)
	s.Close()
}
