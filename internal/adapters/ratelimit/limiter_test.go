package ratelimit

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/chatd/chatd/internal/ports"
)

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

func mustAllow(t *testing.T, l *Limiter, key string, r ports.Rate, now time.Time) {
	t.Helper()
	if ok, retry := l.take(key, r, now); !ok {
		t.Fatalf("Allow(%q, %v) refused, retry after %v", key, now.Sub(t0), retry)
	}
}

func mustRefuse(t *testing.T, l *Limiter, key string, r ports.Rate, now time.Time, wantRetry time.Duration) {
	t.Helper()
	ok, retry := l.take(key, r, now)
	if ok {
		t.Fatalf("Allow(%q, %v) allowed", key, now.Sub(t0))
	}
	if retry != wantRetry {
		t.Fatalf("Allow(%q, %v) retry after %v, want %v", key, now.Sub(t0), retry, wantRetry)
	}
}

func TestBurstThenRefusal(t *testing.T) {
	l := New(0)
	r := ports.Rate{PerMinute: 5}
	for range 5 {
		mustAllow(t, l, "k", r, t0)
	}
	// One token every 12s.
	mustRefuse(t, l, "k", r, t0, 12*time.Second)
	mustRefuse(t, l, "k", r, t0.Add(5*time.Second), 7*time.Second)
	// Refusals spend nothing.
	mustRefuse(t, l, "k", r, t0.Add(5*time.Second), 7*time.Second)
	// Other keys have their own budget.
	mustAllow(t, l, "other", r, t0)
}

func TestRefillOverTime(t *testing.T) {
	l := New(0)
	r := ports.Rate{PerMinute: 60}
	for range 60 {
		mustAllow(t, l, "k", r, t0)
	}
	mustRefuse(t, l, "k", r, t0, time.Second)

	// One token per second comes back, no more.
	now := t0.Add(time.Second)
	mustAllow(t, l, "k", r, now)
	mustRefuse(t, l, "k", r, now, time.Second)
	now = now.Add(3 * time.Second)
	for range 3 {
		mustAllow(t, l, "k", r, now)
	}
	mustRefuse(t, l, "k", r, now, time.Second)

	// After a long idle period the bucket is full again, but never fuller.
	now = now.Add(time.Hour)
	for range 60 {
		mustAllow(t, l, "k", r, now)
	}
	mustRefuse(t, l, "k", r, now, time.Second)
}

func TestRetryAfterRoundsUpToWholeSeconds(t *testing.T) {
	cases := []struct {
		perMinute int
		want      time.Duration
	}{
		{1, 60 * time.Second},
		{7, 9 * time.Second}, // 8.57s
		{120, time.Second},   // 0.5s: never less than one second
		{6000, time.Second},
	}
	for _, c := range cases {
		l := New(0)
		r := ports.Rate{PerMinute: c.perMinute}
		for range c.perMinute {
			mustAllow(t, l, "k", r, t0)
		}
		mustRefuse(t, l, "k", r, t0, c.want)
	}
	// Part of the wait already served rounds up too.
	l := New(0)
	r := ports.Rate{PerMinute: 1}
	mustAllow(t, l, "k", r, t0)
	mustRefuse(t, l, "k", r, t0.Add(59500*time.Millisecond), time.Second)
	mustAllow(t, l, "k", r, t0.Add(time.Minute))
}

func TestUnlimited(t *testing.T) {
	l := New(0)
	for _, r := range []ports.Rate{{PerMinute: 0}, {PerMinute: -1}} {
		for range 1000 {
			mustAllow(t, l, "k", r, t0)
		}
	}
	if n := l.size(); n != 0 {
		t.Errorf("unlimited calls stored %d keys", n)
	}
}

func TestClockGoingBackwardsDoesNotRefill(t *testing.T) {
	l := New(0)
	r := ports.Rate{PerMinute: 1}
	mustAllow(t, l, "k", r, t0)
	mustRefuse(t, l, "k", r, t0.Add(-time.Hour), 61*time.Minute)
}

func TestMemoryBounded(t *testing.T) {
	for _, maxKeys := range []int{1, 10, 100, 1000} {
		l := New(maxKeys)
		for i := range 20 * maxKeys {
			mustAllow(t, l, "key-"+strconv.Itoa(i), ports.Rate{PerMinute: 10}, t0)
		}
		if n := l.size(); n > maxKeys || n == 0 {
			t.Errorf("maxKeys %d: holding %d keys", maxKeys, n)
		}
	}
	if n := len(New(0).shards) * New(0).shards[0].capacity; n != DefaultMaxKeys {
		t.Errorf("default capacity %d", n)
	}
}

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	l := newLimiter(2, 1)
	r := ports.Rate{PerMinute: 1}
	mustAllow(t, l, "a", r, t0)
	mustAllow(t, l, "b", r, t0)
	mustRefuse(t, l, "a", r, t0, time.Minute) // a is now the most recent
	mustAllow(t, l, "c", r, t0)               // evicts b
	if l.size() != 2 {
		t.Fatalf("size %d", l.size())
	}
	mustRefuse(t, l, "a", r, t0, time.Minute) // a kept its state
	mustRefuse(t, l, "c", r, t0, time.Minute)
	mustAllow(t, l, "b", r, t0) // b was forgotten, so starts full
}

func TestConcurrentUse(t *testing.T) {
	l := New(64)
	r := ports.Rate{PerMinute: 1000}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				if ok, _ := l.take("shared", r, t0); ok {
					allowed.Add(1)
				}
				// Churn other keys through the same shards to race eviction.
				l.take("g"+strconv.Itoa(g)+"-"+strconv.Itoa(i), r, t0.Add(time.Duration(i)))
			}
		})
	}
	wg.Wait()
	// "shared" may be evicted by the churn and start over, so at least the
	// burst is granted, and never more than the burst per life of the key.
	if got := allowed.Load(); got < 1000 {
		t.Errorf("allowed %d of a 1000 burst", got)
	}
	if n := l.size(); n > 64 {
		t.Errorf("holding %d keys, max 64", n)
	}

	// Without churn the count is exact.
	l = New(0)
	allowed.Store(0)
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				if ok, _ := l.take("shared", r, t0); ok {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != 1000 {
		t.Errorf("allowed %d, want exactly 1000", got)
	}
}

func TestModule(t *testing.T) {
	var rl ports.RateLimiter
	app := fx.New(fx.NopLogger, Module, fx.Populate(&rl))
	if err := app.Err(); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := rl.Allow(context.Background(), "k", ports.Rate{PerMinute: 1}, t0); !ok {
		t.Error("first call refused")
	}
}

func BenchmarkAllow(b *testing.B) {
	l := New(0)
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = "user-" + strconv.Itoa(i)
	}
	r := ports.Rate{PerMinute: 1_000_000}
	now := time.Now()
	var worker atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		// Each worker walks the keys from its own offset, as real callers
		// would, instead of all hitting the same shard in lockstep.
		i := int(worker.Add(1)) * 1021
		for pb.Next() {
			l.take(keys[i&(len(keys)-1)], r, now)
			i++
		}
	})
}
