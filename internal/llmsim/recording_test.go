package llmsim

import (
	"context"
	"net/http"
	"sync"
	"testing"
)

func TestRequestsAreRecordedInOrder(t *testing.T) {
	h := newHarness(t, fast)
	for i, user := range []string{"first", "second", "third"} {
		resp := h.post(context.Background(), t, chatBody("m", user, i%2 == 0, false),
			http.Header{"Authorization": {"Bearer secret"}})
		_ = resp.Body.Close()
	}
	bad := h.post(context.Background(), t, "not json", nil)
	_ = bad.Body.Close()

	reqs := h.sim.Requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests", len(reqs))
	}
	for i, user := range []string{"first", "second", "third"} {
		r := reqs[i]
		if r.LastUserMessage() != user || r.Stream != (i%2 == 0) || r.Header.Get("Authorization") != "Bearer secret" {
			t.Fatalf("request %d: %+v", i, r)
		}
	}
	if string(reqs[3].Body) != "not json" {
		t.Fatalf("a refused request keeps its body: %q", reqs[3].Body)
	}
	h.sim.Reset()
	if len(h.sim.Requests()) != 0 {
		t.Fatal("Reset kept requests")
	}
}

func TestDisableRecording(t *testing.T) {
	h := newHarness(t, Options{ReplyTokens: 2, DisableRecording: true})
	_, _, _ = h.stream(t, chatBody("m", "hi", true, false))
	if n := len(h.sim.Requests()); n != 0 {
		t.Fatalf("%d recorded", n)
	}
}

func TestActiveAndOnFinish(t *testing.T) {
	h := newHarness(t, Options{ReplyTokens: 4})
	release := make(chan struct{})
	h.sim.Script(func(_ Request, w *StreamWriter) {
		w.Chunk("a")
		<-release
		w.Done()
	})
	var mu sync.Mutex
	var sums []Summary
	h.sim.OnFinish(func(s Summary) {
		mu.Lock()
		defer mu.Unlock()
		sums = append(sums, s)
	})
	resp := h.post(context.Background(), t, chatBody("m", "hi", true, false), nil)
	defer func() { _ = resp.Body.Close() }()
	if h.sim.Active() != 1 {
		t.Fatalf("active %d", h.sim.Active())
	}
	close(release)
	waitFor(t, "idle", h.sim.WaitIdle)
	mu.Lock()
	defer mu.Unlock()
	if len(sums) != 1 || sums[0].Model != "m" || !sums[0].Stream || sums[0].Status != 200 || sums[0].Tokens != 1 ||
		!sums[0].Scripted || sums[0].Cancelled {
		t.Fatalf("%+v", sums)
	}
	if h.sim.Cancelled() != 0 {
		t.Fatal("a finished request is not cancelled")
	}
}

func TestCancelMidStreamIsCounted(t *testing.T) {
	h := newHarness(t, Options{ReplyTokens: 1000, TokensPerSecond: 100})
	ctx, cancel := context.WithCancel(context.Background())
	resp := h.post(ctx, t, chatBody("m", "hi", true, false), nil)
	buf := make([]byte, 512)
	if _, err := resp.Body.Read(buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	_ = resp.Body.Close()
	waitFor(t, "the cancel", func(ctx context.Context) error { return h.sim.WaitCancelled(ctx, 1) })
	waitFor(t, "idle", h.sim.WaitIdle)
	if h.sim.Active() != 0 || h.sim.Cancelled() != 1 {
		t.Fatalf("active %d cancelled %d", h.sim.Active(), h.sim.Cancelled())
	}
}

func TestWaitRespectsItsContext(t *testing.T) {
	h := newHarness(t, fast)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := h.sim.WaitCancelled(ctx, 1); err == nil {
		t.Fatal("want the context's error")
	}
}
