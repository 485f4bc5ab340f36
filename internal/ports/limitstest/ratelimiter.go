package limitstest

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/ports"
)

// RunRateLimiter is the contract of one ports.RateLimiter; open returns a
// fresh limiter (an empty store) for each case. The rules are those of the
// in-memory limiter: a token bucket of capacity PerMinute refilled at
// PerMinute a minute, so a caller may burst its minute's allowance; a refusal
// spends nothing and says how long until the next token, in whole seconds
// rounded up; PerMinute <= 0 is unlimited.
func RunRateLimiter(t *testing.T, open func(t *testing.T) ports.RateLimiter) {
	cases := map[string]func(t *testing.T, l *limiterProbe){
		"burst then refusal":                      burstThenRefusal,
		"retry after is whole seconds rounded up": retryAfterRoundsUp,
		"a caller obeying retry after is allowed": obeyingRetryAfterIsAllowed,
		"refill with time":                        refillWithTime,
		"keys are independent":                    keysAreIndependent,
		"unlimited rates spend nothing":           unlimitedSpendsNothing,
		"a clock going back does not refill":      clockGoingBackDoesNotRefill,
		"concurrent callers get exactly the burst": func(t *testing.T, l *limiterProbe) {
			concurrentCallersGetTheBurst(t, l.ctx, []ports.RateLimiter{l.rl})
		},
	}
	runCases(t, wrapLimiterCases(cases, func(t *testing.T) *limiterProbe {
		return newLimiterProbe(t, open(t))
	}))
}

func wrapLimiterCases(cases map[string]func(*testing.T, *limiterProbe), probe func(*testing.T) *limiterProbe) map[string]func(*testing.T) {
	out := make(map[string]func(*testing.T), len(cases))
	for name, run := range cases {
		out[name] = func(t *testing.T) { run(t, probe(t)) }
	}
	return out
}

// limiterProbe calls a limiter and fails the test on an error, so cases
// read as the rules they check.
type limiterProbe struct {
	t   *testing.T
	ctx context.Context
	rl  ports.RateLimiter
}

func newLimiterProbe(t *testing.T, rl ports.RateLimiter) *limiterProbe {
	return &limiterProbe{t: t, ctx: testContext(t), rl: rl}
}

func (l *limiterProbe) allow(key string, r ports.Rate, now time.Time) (bool, time.Duration) {
	l.t.Helper()
	ok, retry, err := l.rl.Allow(l.ctx, key, r, now)
	if err != nil {
		l.t.Fatalf("Allow(%q, %d/min, t0%+v): %v", key, r.PerMinute, now.Sub(t0), err)
	}
	if !ok {
		checkRetryAfterShape(l.t, retry)
	}
	return ok, retry
}

func (l *limiterProbe) mustAllow(key string, r ports.Rate, now time.Time) {
	l.t.Helper()
	if ok, retry := l.allow(key, r, now); !ok {
		l.t.Fatalf("Allow(%q, %d/min, t0%+v) refused, retry after %v", key, r.PerMinute, now.Sub(t0), retry)
	}
}

func (l *limiterProbe) mustRefuse(key string, r ports.Rate, now time.Time, wantRetry time.Duration) {
	l.t.Helper()
	ok, retry := l.allow(key, r, now)
	if ok {
		l.t.Fatalf("Allow(%q, %d/min, t0%+v) allowed, want refused", key, r.PerMinute, now.Sub(t0))
	}
	if retry != wantRetry {
		l.t.Fatalf("Allow(%q, %d/min, t0%+v) retry after %v, want %v", key, r.PerMinute, now.Sub(t0), retry, wantRetry)
	}
}

// spendBurst spends key's whole allowance at now.
func (l *limiterProbe) spendBurst(key string, r ports.Rate, now time.Time) {
	l.t.Helper()
	for range r.PerMinute {
		l.mustAllow(key, r, now)
	}
}

// checkRetryAfterShape holds for every refusal: a client told to wait must
// be told a positive whole number of seconds (what Retry-After can carry).
func checkRetryAfterShape(t *testing.T, retry time.Duration) {
	t.Helper()
	if retry <= 0 || retry%time.Second != 0 {
		t.Fatalf("retry after %v: want a positive whole number of seconds", retry)
	}
}

func burstThenRefusal(t *testing.T, l *limiterProbe) {
	r := ports.Rate{PerMinute: 5} // one token every 12 s
	l.spendBurst("k", r, t0)
	l.mustRefuse("k", r, t0, 12*time.Second)
	// A refusal spends nothing: asking again gives the same answer.
	l.mustRefuse("k", r, t0, 12*time.Second)
	l.mustRefuse("k", r, t0.Add(5*time.Second), 7*time.Second)
	l.mustRefuse("k", r, t0.Add(5*time.Second), 7*time.Second)
	l.mustAllow("k", r, t0.Add(12*time.Second))
	l.mustRefuse("k", r, t0.Add(12*time.Second), 12*time.Second)
}

func retryAfterRoundsUp(t *testing.T, l *limiterProbe) {
	cases := []struct {
		perMinute int
		want      time.Duration
	}{
		{1, 60 * time.Second},
		{7, 9 * time.Second}, // 8.57 s
		{120, time.Second},   // 0.5 s: never less than a second
		{6000, time.Second},
	}
	for _, c := range cases {
		key := "k" + strconv.Itoa(c.perMinute)
		r := ports.Rate{PerMinute: c.perMinute}
		l.spendBurst(key, r, t0)
		l.mustRefuse(key, r, t0, c.want)
	}
	// Part of the wait already served rounds up too.
	r := ports.Rate{PerMinute: 1}
	l.mustAllow("partial", r, t0)
	l.mustRefuse("partial", r, t0.Add(59500*time.Millisecond), time.Second)
	l.mustAllow("partial", r, t0.Add(time.Minute))
}

func obeyingRetryAfterIsAllowed(t *testing.T, l *limiterProbe) {
	for _, perMinute := range []int{1, 7, 13, 59, 61, 120, 1000} {
		key := "k" + strconv.Itoa(perMinute)
		r := ports.Rate{PerMinute: perMinute}
		now := t0
		l.spendBurst(key, r, now)
		for range 3 {
			ok, retry := l.allow(key, r, now)
			if ok {
				t.Fatalf("%d/min: allowed beyond the bucket at t0%+v", perMinute, now.Sub(t0))
			}
			if retry > time.Minute {
				t.Fatalf("%d/min: retry after %v, more than a minute", perMinute, retry)
			}
			now = now.Add(retry)
			l.mustAllow(key, r, now)
			// Rounding up may have let more than one token in: spend them.
			// The wait earns one token an interval, plus the one that was
			// partly earned when it began.
			earned := int(retry*time.Duration(perMinute)/time.Minute) + 1
			for spent := 1; ; spent++ {
				if ok, _ := l.allow(key, r, now); !ok {
					break
				}
				if spent+1 > earned {
					t.Fatalf("%d/min: %d allowed after waiting %v, which earns at most %d", perMinute, spent+1, retry, earned)
				}
			}
		}
	}
}

func refillWithTime(t *testing.T, l *limiterProbe) {
	r := ports.Rate{PerMinute: 60}
	l.spendBurst("k", r, t0)
	l.mustRefuse("k", r, t0, time.Second)

	// One token a second comes back, no more.
	now := t0.Add(time.Second)
	l.mustAllow("k", r, now)
	l.mustRefuse("k", r, now, time.Second)
	now = now.Add(3 * time.Second)
	for range 3 {
		l.mustAllow("k", r, now)
	}
	l.mustRefuse("k", r, now, time.Second)

	// After a long idle time the bucket is full again, but never fuller.
	now = now.Add(time.Hour)
	l.spendBurst("k", r, now)
	l.mustRefuse("k", r, now, time.Second)
}

func keysAreIndependent(t *testing.T, l *limiterProbe) {
	r := ports.Rate{PerMinute: 3}
	l.spendBurst("a", r, t0)
	l.mustRefuse("a", r, t0, 20*time.Second)
	l.spendBurst("b", r, t0)
	l.mustRefuse("b", r, t0, 20*time.Second)
	// a's refill is a's alone.
	now := t0.Add(20 * time.Second)
	l.mustAllow("a", r, now)
	l.mustAllow("b", r, now)
	l.mustRefuse("a", r, now, 20*time.Second)
	l.mustRefuse("b", r, now, 20*time.Second)
}

func unlimitedSpendsNothing(t *testing.T, l *limiterProbe) {
	for _, r := range []ports.Rate{{PerMinute: 0}, {PerMinute: -1}} {
		for range 1000 {
			l.mustAllow("k", r, t0)
		}
	}
	// Those calls spent nothing of the key's budget under a real rate.
	r := ports.Rate{PerMinute: 2}
	l.spendBurst("k", r, t0)
	l.mustRefuse("k", r, t0, 30*time.Second)
}

func clockGoingBackDoesNotRefill(t *testing.T, l *limiterProbe) {
	r := ports.Rate{PerMinute: 1}
	l.mustAllow("k", r, t0)
	l.mustRefuse("k", r, t0.Add(-time.Hour), 61*time.Minute)
}

// concurrentCallersGetTheBurst has goroutines on every limiter ask for one
// key at the same instant: exactly the burst is allowed in all, never more.
func concurrentCallersGetTheBurst(t *testing.T, ctx context.Context, limiters []ports.RateLimiter) {
	const (
		perLimiter = 8
		calls      = 40
	)
	r := ports.Rate{PerMinute: 100}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, rl := range limiters {
		for range perLimiter {
			wg.Go(func() {
				<-start
				for range calls {
					ok, retry, err := rl.Allow(ctx, "shared", r, t0)
					switch {
					case err != nil:
						t.Errorf("Allow: %v", err)
						return
					case ok:
						allowed.Add(1)
					case retry <= 0 || retry > time.Second || retry%time.Second != 0:
						t.Errorf("refused with retry after %v, want 1s", retry)
					}
				}
			})
		}
	}
	close(start)
	wg.Wait()
	if total := len(limiters) * perLimiter * calls; total <= r.PerMinute {
		t.Fatalf("the case is wrong: %d calls cannot exceed a burst of %d", total, r.PerMinute)
	}
	if got := allowed.Load(); got != int64(r.PerMinute) {
		t.Fatalf("allowed %d calls at one instant, want exactly the burst of %d", got, r.PerMinute)
	}
}
