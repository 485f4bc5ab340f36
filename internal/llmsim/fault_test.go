package llmsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestStatusFaults(t *testing.T) {
	for _, tc := range []struct {
		fault      Fault
		status     int
		retryAfter string
	}{
		{Fault500, 500, ""},
		{Fault429, 429, "1"},
		{Fault503, 503, "1"},
		{"502", 502, ""},
		{"401", 401, ""},
	} {
		for _, stream := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/stream=%v", tc.fault, stream), func(t *testing.T) {
				h := newHarness(t, Options{Fault: tc.fault, TimeToFirstToken: time.Hour})
				resp := h.post(context.Background(), t, chatBody("sim-small", "hi", stream, false), nil)
				defer func() { _ = resp.Body.Close() }()
				var e struct {
					Error struct {
						Message string `json:"message"`
						Code    int    `json:"code"`
					} `json:"error"`
				}
				if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/json" ||
					resp.Header.Get("Retry-After") != tc.retryAfter || e.Error.Code != tc.status || e.Error.Message == "" {
					t.Fatalf("status %d headers %v error %+v", resp.StatusCode, resp.Header, e.Error)
				}
			})
		}
	}
}

func TestErrorChunkFault(t *testing.T) {
	h := newHarness(t, Options{ReplyTokens: 10, StallAfter: 3, Fault: FaultErrorChunk})
	_, events, err := h.stream(t, chatBody("sim-small", "hi", true, true))
	if err != nil {
		t.Fatal(err)
	}
	s, err := summarize(events)
	if err != nil {
		t.Fatal(err)
	}
	if s.content != strings.Join(ReplyTokens("hi", 10)[:3], "") || s.errors != 1 || s.usage != 0 ||
		len(s.finish) != 1 || s.finish[0] != "error" || !s.done {
		t.Fatalf("got %+v", s)
	}
	c, _ := decodeChunk(events[len(events)-2].data)
	if c.Error.Code != 502 || c.Error.Message == "" {
		t.Fatalf("error chunk %s", events[len(events)-2].data)
	}
	if h.sim.Cancelled() != 0 {
		t.Fatal("an error chunk is not a cancellation")
	}
}

func TestEOFFault(t *testing.T) {
	h := newHarness(t, Options{ReplyTokens: 10, Fault: FaultEOF}) // StallAfter: half
	_, events, err := h.stream(t, chatBody("sim-small", "hi", true, true))
	if err != nil {
		t.Fatalf("want a clean EOF, got %v", err)
	}
	s, _ := summarize(events)
	if s.content != strings.Join(ReplyTokens("hi", 10)[:5], "") || len(s.finish) != 0 || s.done || s.usage != 0 {
		t.Fatalf("got %+v", s)
	}
	waitFor(t, "idle", h.sim.WaitIdle)
	if h.sim.Cancelled() != 0 {
		t.Fatal("eof is the server's doing, not a cancellation")
	}
}

func TestResetFault(t *testing.T) {
	// Paced, so the tokens before the reset reach the client before the RST.
	h := newHarness(t, Options{ReplyTokens: 10, StallAfter: 3, Fault: FaultReset, TokensPerSecond: 40})
	_, events, err := h.stream(t, chatBody("sim-small", "hi", true, false))
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("want ECONNRESET, got %v", err)
	}
	s, _ := summarize(events)
	if s.tokens > 3 || len(s.finish) != 0 || s.done {
		t.Fatalf("got %+v", s)
	}
	waitFor(t, "idle", h.sim.WaitIdle)
	if h.sim.Cancelled() != 0 {
		t.Fatal("reset is the server's doing, not a cancellation")
	}
}

func TestStallFaultHoldsUntilTheClientLeaves(t *testing.T) {
	h := newHarness(t, Options{ReplyTokens: 10, StallAfter: 2, Fault: FaultStall})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp := h.post(ctx, t, chatBody("sim-small", "hi", true, false), nil)
	defer func() { _ = resp.Body.Close() }()

	lines := make(chan string)
	go func() {
		defer close(lines)
		buf := make([]byte, 64<<10)
		for {
			n, err := resp.Body.Read(buf)
			if n > 0 {
				lines <- string(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	var got strings.Builder
	for strings.Count(got.String(), "data: ") < 2 {
		got.WriteString(<-lines)
	}
	select {
	case more, ok := <-lines:
		if ok {
			t.Fatalf("sent after the stall: %q", more)
		}
		t.Fatal("stream ended instead of stalling")
	case <-time.After(150 * ms):
	}
	if h.sim.Active() != 1 || h.sim.Cancelled() != 0 {
		t.Fatalf("active %d cancelled %d", h.sim.Active(), h.sim.Cancelled())
	}
	cancel()
	for range lines { // drain until the reader sees the cancel
	}
	waitFor(t, "the cancel", func(ctx context.Context) error { return h.sim.WaitCancelled(ctx, 1) })
	waitFor(t, "idle", h.sim.WaitIdle)
}

func TestFaultBeforeFirstToken(t *testing.T) {
	h := newHarness(t, fast)
	_, events, err := h.stream(t, chatBody("sim-small+fault=eof+stall_after=0", "hi", true, false))
	if err != nil || len(events) != 0 {
		t.Fatalf("events %+v err %v", events, err)
	}
}

func TestCloseReleasesAStall(t *testing.T) {
	h := newHarness(t, Options{Fault: FaultStall, StallAfter: -1})
	resp := h.post(context.Background(), t, chatBody("sim-small", "hi", true, false), nil)
	defer func() { _ = resp.Body.Close() }()
	waitFor(t, "the request", func(ctx context.Context) error {
		return h.sim.rec.wait(ctx, func(r *recorder) bool { return r.active == 1 })
	})
	h.sim.Close()
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatalf("want the body to end, got %v", err)
	}
	waitFor(t, "idle", h.sim.WaitIdle)
}

func TestNonStreamingMidStreamFaults(t *testing.T) {
	h := newHarness(t, fast)
	for _, f := range []Fault{FaultEOF, FaultReset} {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, h.url+"/v1/chat/completions",
			strings.NewReader(chatBody("sim-small+fault="+string(f), "hi", false, false)))
		resp, err := h.client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			t.Fatalf("%s: want a transport error, got status %d", f, resp.StatusCode)
		}
	}

	resp := h.post(context.Background(), t, chatBody("sim-small+fault=error-chunk", "hi", false, false), nil)
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), `{"error":{"code":502,`) {
		t.Fatalf("error-chunk: %d %s", resp.StatusCode, body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*ms)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.url+"/v1/chat/completions",
		strings.NewReader(chatBody("sim-small+fault=stall", "hi", false, false)))
	if resp, err := h.client.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		if err == nil {
			_ = resp.Body.Close()
		}
		t.Fatalf("stall: want the client's deadline, got %v", err)
	}
	waitFor(t, "the cancel", func(ctx context.Context) error { return h.sim.WaitCancelled(ctx, 1) })
}
