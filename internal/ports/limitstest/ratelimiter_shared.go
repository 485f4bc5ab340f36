package limitstest

import (
	"testing"
	"time"

	"github.com/chatd/chatd/internal/ports"
)

// RunRateLimiterShared checks that a budget is the whole service's: open
// returns two limiters on one fresh backend (as two processes of chatd
// would hold), and what one spends, the other cannot.
func RunRateLimiterShared(t *testing.T, open func(t *testing.T) (a, b ports.RateLimiter)) {
	cases := map[string]func(t *testing.T, a, b *limiterProbe){
		"instances spend one budget": func(t *testing.T, a, b *limiterProbe) {
			r := ports.Rate{PerMinute: 10} // a token every 6 s
			for i := range r.PerMinute {
				[]*limiterProbe{a, b}[i%2].mustAllow("k", r, t0)
			}
			a.mustRefuse("k", r, t0, 6*time.Second)
			b.mustRefuse("k", r, t0, 6*time.Second)
			// The refill is seen by both, and spent once.
			now := t0.Add(6 * time.Second)
			b.mustAllow("k", r, now)
			a.mustRefuse("k", r, now, 6*time.Second)
			b.mustRefuse("k", r, now, 6*time.Second)
		},
		"keys stay independent across instances": func(t *testing.T, a, b *limiterProbe) {
			r := ports.Rate{PerMinute: 2}
			a.spendBurst("x", r, t0)
			b.mustRefuse("x", r, t0, 30*time.Second)
			b.spendBurst("y", r, t0)
			a.mustRefuse("y", r, t0, 30*time.Second)
		},
		"concurrent callers on both get exactly the burst": func(t *testing.T, a, b *limiterProbe) {
			concurrentCallersGetTheBurst(t, a.ctx, []ports.RateLimiter{a.rl, b.rl})
		},
	}
	out := make(map[string]func(*testing.T), len(cases))
	for name, run := range cases {
		out[name] = func(t *testing.T) {
			rlA, rlB := open(t)
			run(t, newLimiterProbe(t, rlA), newLimiterProbe(t, rlB))
		}
	}
	runCases(t, out)
}
