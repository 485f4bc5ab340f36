package llmsim

import (
	"testing"
	"time"
)

func TestPacingRoughlyHonoured(t *testing.T) {
	const (
		ttft   = 150 * ms
		tps    = 50 // 20 ms apart
		tokens = 11
	)
	h := newHarness(t, Options{TimeToFirstToken: ttft, TokensPerSecond: tps, ReplyTokens: tokens})
	_, events, err := h.stream(t, chatBody("m", "hi", true, false))
	if err != nil {
		t.Fatal(err)
	}
	first, last := events[0].at, events[tokens-1].at
	if first < ttft || first > ttft+300*ms {
		t.Errorf("first token after %v, want about %v", first, ttft)
	}
	spread, want := last-first, time.Duration(tokens-1)*time.Second/tps
	if spread < want*8/10 || spread > want*3 {
		t.Errorf("tokens spread over %v, want about %v", spread, want)
	}
}

func TestNonStreamingTakesAsLongAsTheStream(t *testing.T) {
	h := newHarness(t, Options{TimeToFirstToken: 100 * ms, TokensPerSecond: 100, ReplyTokens: 11})
	start := time.Now()
	resp := h.post(t.Context(), t, chatBody("m", "hi", false, false), nil)
	_ = resp.Body.Close()
	if d := time.Since(start); d < 200*ms || d > 2*time.Second {
		t.Fatalf("answered after %v, want about 200ms", d)
	}
}

func TestUnpacedIsFast(t *testing.T) {
	h := newHarness(t, Options{ReplyTokens: 2000})
	start := time.Now()
	_, events, err := h.stream(t, chatBody("m", "hi", true, false))
	if err != nil || len(events) != 2002 {
		t.Fatalf("%d events, %v", len(events), err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("2000 unpaced tokens took %v", d)
	}
}
