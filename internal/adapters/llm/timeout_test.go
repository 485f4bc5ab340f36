package llm

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

func fastTimeouts(first, idle, total time.Duration) func(*Config) {
	return func(c *Config) {
		c.Local.FirstTokenTimeout, c.IdleTimeout, c.TotalTimeout = first, idle, total
	}
}

func TestStreamFirstTokenTimeout(t *testing.T) {
	cases := map[string]func(w http.ResponseWriter, r *http.Request){
		"no headers": func(_ http.ResponseWriter, r *http.Request) { holdUntilGone(r) },
		// Keep-alive comments do not count as a start.
		"only keep-alives": func(w http.ResponseWriter, r *http.Request) {
			startSSE(w)
			for {
				send(w, ": OPENROUTER PROCESSING\n\n")
				select {
				case <-r.Context().Done():
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		},
		"role chunk without text": func(w http.ResponseWriter, r *http.Request) {
			startSSE(w)
			send(w, event(chunkWith(map[string]any{"role": "assistant", "content": ""}, nil)))
			holdUntilGone(r)
		},
	}
	for name, script := range cases {
		t.Run(name, func(t *testing.T) {
			u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ int) { script(w, r) })
			c := localClient(t, u, fastTimeouts(120*time.Millisecond, time.Second, 5*time.Second))
			start := time.Now()
			_, d, err := stream(t, c, localReq("m"))
			el := time.Since(start)
			de := wantCode(t, err, domain.ErrUnavailable, codeTimeout)
			if de.Detail != "the model did not start answering within 120ms" {
				t.Errorf("detail = %q", de.Detail)
			}
			if el < 120*time.Millisecond || el > 600*time.Millisecond || d.n != 0 {
				t.Errorf("failed after %s with %d deltas", el, d.n)
			}
			if u.count() != 1 {
				t.Errorf("%d requests; a first-token timeout is not retried", u.count())
			}
		})
	}
}

func TestStreamFirstTokenTimeoutTriesFallback(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 0 {
			holdUntilGone(r)
			return
		}
		replyOK(w, "quick")
	})
	c := localClient(t, u, fastTimeouts(80*time.Millisecond, time.Second, 5*time.Second))
	req := localReq("slow")
	req.FallbackModels = []string{"quick"}
	comp, _, err := stream(t, c, req)
	mustNotFail(t, err)
	if u.count() != 2 || comp.Model != "served/model" {
		t.Errorf("%d requests, completion %+v", u.count(), comp)
	}
}

func TestStreamIdleTimeout(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		startSSE(w)
		send(w, contentEvent("so far"))
		holdUntilGone(r)
	})
	// The first-token limit is long: after the first delta only the idle one counts.
	c := localClient(t, u, fastTimeouts(5*time.Second, 100*time.Millisecond, 5*time.Second))
	start := time.Now()
	_, d, err := stream(t, c, localReq("m"))
	el := time.Since(start)
	de := wantCode(t, err, domain.ErrUnavailable, codeTimeout)
	if de.Detail != "the model stopped sending for 100ms" {
		t.Errorf("detail = %q", de.Detail)
	}
	if d.content.String() != "so far" {
		t.Errorf("content = %q", d.content.String())
	}
	if el < 100*time.Millisecond || el > 600*time.Millisecond {
		t.Errorf("failed after %s", el)
	}
}

// TestStreamKeepAlivesResetIdle: comments prove the upstream is alive, so a
// reply that pauses longer than the idle timeout while sending them lives.
func TestStreamKeepAlivesResetIdle(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		startSSE(w)
		send(w, contentEvent("a"))
		for range 8 {
			time.Sleep(30 * time.Millisecond)
			send(w, ": OPENROUTER PROCESSING\n\n")
		}
		send(w, contentEvent("b"), finishEvent("stop"), doneEvent)
	})
	c := localClient(t, u, fastTimeouts(5*time.Second, 100*time.Millisecond, 5*time.Second))
	_, d, err := stream(t, c, localReq("m"))
	mustNotFail(t, err)
	if d.content.String() != "ab" {
		t.Errorf("content = %q", d.content.String())
	}
}

// TestStreamSlowDripWithinIdle: tokens further apart than nothing but
// closer than the idle timeout are fine, however long the pauses add up to.
func TestStreamSlowDripWithinIdle(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		startSSE(w)
		for range 6 {
			send(w, contentEvent("."))
			time.Sleep(40 * time.Millisecond)
		}
		send(w, finishEvent("stop"), doneEvent)
	})
	c := localClient(t, u, fastTimeouts(5*time.Second, 100*time.Millisecond, 5*time.Second))
	_, d, err := stream(t, c, localReq("m"))
	mustNotFail(t, err)
	if d.content.String() != "......" {
		t.Errorf("content = %q", d.content.String())
	}
}

func TestStreamTotalTimeout(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		startSSE(w)
		for {
			send(w, contentEvent("tok "))
			select {
			case <-r.Context().Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	})
	c := localClient(t, u, fastTimeouts(time.Second, time.Second, 200*time.Millisecond))
	start := time.Now()
	_, d, err := stream(t, c, localReq("m"))
	el := time.Since(start)
	de := wantCode(t, err, domain.ErrUnavailable, codeTimeout)
	if de.Detail != "the reply took longer than 200ms" {
		t.Errorf("detail = %q", de.Detail)
	}
	if d.n < 3 || el < 200*time.Millisecond || el > 700*time.Millisecond {
		t.Errorf("%d deltas, failed after %s", d.n, el)
	}
}

// TestStreamCallerCancel: the caller's cancel closes the upstream request
// (what stops generation there) and comes back as the caller's own error.
func TestStreamCallerCancel(t *testing.T) {
	upstreamDone := make(chan time.Time, 1)
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		startSSE(w)
		send(w, contentEvent("first"))
		holdUntilGone(r)
		upstreamDone <- time.Now()
	})
	c := localClient(t, u)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var cancelled time.Time
	_, err := c.Stream(ctx, localReq("m"), func(ports.Delta) error {
		cancelled = time.Now()
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, ok := domain.AsError(err); ok {
		t.Errorf("a cancel came back as a domain error: %v", err)
	}
	select {
	case at := <-upstreamDone:
		if lag := at.Sub(cancelled); lag > 2*time.Second {
			t.Errorf("upstream saw the cancel after %s", lag)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the upstream request was not closed within 2s of the cancel")
	}
	if u.count() != 1 {
		t.Errorf("%d requests", u.count())
	}
}

func TestStreamCallerCancelCause(t *testing.T) {
	u := newUpstream(t, func(_ http.ResponseWriter, r *http.Request, _ int) { holdUntilGone(r) })
	c := localClient(t, u)
	why := errors.New("user pressed stop")
	ctx, cancel := context.WithCancelCause(t.Context())
	time.AfterFunc(30*time.Millisecond, func() { cancel(why) })
	_, err := c.Stream(ctx, localReq("m"), func(ports.Delta) error { return nil })
	if !errors.Is(err, why) {
		t.Fatalf("err = %v, want the cancel cause", err)
	}
}

func TestStreamCallerCancelDuringBackoff(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, `{}`)
	})
	c := localClient(t, u)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Stream(ctx, localReq("m"), func(ports.Delta) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the caller's deadline", err)
	}
}

func TestStreamAlreadyCancelled(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) { replyOK(w, "x") })
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := localClient(t, u).Stream(ctx, localReq("m"), func(ports.Delta) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestWatchdogStopDisarms(t *testing.T) {
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	w := startWatchdog(cancel, 20*time.Millisecond, 20*time.Millisecond)
	w.stop()
	time.Sleep(50 * time.Millisecond)
	if ctx.Err() != nil {
		t.Fatal("a stopped watchdog cancelled")
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * time.Second: "30s", 2 * time.Minute: "2m", 10*time.Minute + 30*time.Second: "10m30s",
		time.Hour: "1h", 90 * time.Minute: "1h30m", 150 * time.Millisecond: "150ms",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%s) = %s, want %s", d, got, want)
		}
	}
}
