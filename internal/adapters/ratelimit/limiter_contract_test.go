package ratelimit_test

import (
	"testing"

	"github.com/chatd/chatd/internal/adapters/ratelimit"
	"github.com/chatd/chatd/internal/ports"
	"github.com/chatd/chatd/internal/ports/limitstest"
)

func TestLimiterContract(t *testing.T) {
	limitstest.RunRateLimiter(t, func(*testing.T) ports.RateLimiter { return ratelimit.New(0) })
}

// One process's memory is the backend two of its callers share; running
// the shared suite on it checks the suite as much as the limiter.
func TestLimiterSharedContract(t *testing.T) {
	limitstest.RunRateLimiterShared(t, func(*testing.T) (a, b ports.RateLimiter) {
		l := ratelimit.New(0)
		return l, l
	})
}
