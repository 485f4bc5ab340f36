package process

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// turn is one message posted with Accept: text/event-stream, read in the
// background: what an SSE client has received of the reply so far.
type turn struct {
	t      *testing.T
	cancel context.CancelFunc
	done   chan struct{} // closed when the stream has ended

	mu         sync.Mutex
	events     []string // event types in arrival order
	userID     string   // the user message's id
	replyID    string   // the assistant reply's id
	text       strings.Builder
	deltas     int
	firstDelta time.Time
	problem    string // the first protocol problem seen (delta out of order...)
	readErr    error  // how the stream ended (nil: clean EOF)
}

// postStreaming posts content to a session asking for SSE and starts reading.
func (a *api) postStreaming(sessionID, content string) *turn {
	a.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req := a.request(ctx, http.MethodPost, "/api/v1/chat/sessions/"+sessionID+"/messages", map[string]any{"content": content})
	req.Header.Set("Accept", "text/event-stream")
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req) //nolint:bodyclose // the reader goroutine closes it
	if err != nil {
		cancel()
		a.t.Fatalf("post streaming: %v", err)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK || mt != "text/event-stream" {
		_ = resp.Body.Close()
		cancel()
		a.t.Fatalf("post streaming: status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	tr := &turn{t: a.t, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(tr.done)
		defer func() { _ = resp.Body.Close() }()
		tr.read(bufio.NewReader(resp.Body))
	}()
	a.t.Cleanup(func() {
		cancel()
		<-tr.done
	})
	return tr
}

// read parses SSE frames until the stream ends.
func (tr *turn) read(r *bufio.Reader) {
	var event, data string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			tr.mu.Lock()
			if !errors.Is(err, io.EOF) {
				tr.readErr = err
			}
			tr.mu.Unlock()
			return
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if event != "" || data != "" {
				tr.dispatch(event, data)
			}
			event, data = "", ""
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data += strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")
		}
	}
}

func (tr *turn) dispatch(event, data string) {
	var frame struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.events = append(tr.events, event)
	if err := json.Unmarshal([]byte(data), &frame); err != nil {
		tr.fail("event %q: undecodable data %.200q: %v", event, data, err)
		return
	}
	switch event {
	case "message.created":
		var m message
		if err := json.Unmarshal(frame.Data, &m); err != nil {
			tr.fail("message.created: %v", err)
			return
		}
		switch m.Role {
		case "user":
			tr.userID = m.ID
		case "assistant":
			tr.replyID = m.ID
		}
	case "message.delta":
		var d struct {
			MessageID string `json:"message_id"`
			Delta     string `json:"delta"`
			Index     int    `json:"index"`
		}
		if err := json.Unmarshal(frame.Data, &d); err != nil {
			tr.fail("message.delta: %v", err)
			return
		}
		if d.MessageID != tr.replyID {
			tr.fail("delta for %s, but the reply is %s", d.MessageID, tr.replyID)
			return
		}
		if d.Index != tr.deltas {
			tr.fail("delta index %d after %d deltas", d.Index, tr.deltas)
			return
		}
		if tr.deltas == 0 {
			tr.firstDelta = time.Now()
		}
		tr.deltas++
		tr.text.WriteString(d.Delta)
	}
}

func (tr *turn) fail(format string, args ...any) {
	if tr.problem == "" {
		tr.problem = fmt.Sprintf(format, args...)
	}
}

// received is the reply text received so far and its number of deltas.
func (tr *turn) received() (string, int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.text.String(), tr.deltas
}

// ids are the user message's and the reply's ids, once announced.
func (tr *turn) ids() (user, reply string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.userID, tr.replyID
}

// waitDeltas waits until at least n deltas have arrived and streaming has
// gone on for at least after since the first one.
func (tr *turn) waitDeltas(n int, after, timeout time.Duration) {
	tr.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		tr.mu.Lock()
		ok := tr.deltas >= n && !tr.firstDelta.IsZero() && time.Since(tr.firstDelta) >= after
		deltas, problem := tr.deltas, tr.problem
		tr.mu.Unlock()
		if problem != "" {
			tr.t.Fatalf("stream: %s", problem)
		}
		if ok {
			return
		}
		select {
		case <-tr.done:
			tr.t.Fatalf("the stream ended after %d deltas (events %v), want %d and %v of streaming", deltas, tr.eventTypes(), n, after)
		default:
		}
		if time.Now().After(deadline) {
			tr.t.Fatalf("%d deltas after %v, want %d and %v of streaming", deltas, timeout, n, after)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitEnd waits until the stream has ended and fails on a protocol problem.
func (tr *turn) waitEnd(timeout time.Duration) {
	tr.t.Helper()
	select {
	case <-tr.done:
	case <-time.After(timeout):
		tr.t.Fatalf("the stream was still open after %v", timeout)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.problem != "" {
		tr.t.Fatalf("stream: %s", tr.problem)
	}
}

func (tr *turn) eventTypes() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.events...)
}
