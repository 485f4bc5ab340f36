package redislimits

import (
	"testing"

	"github.com/chatd/chatd/internal/ports"
	"github.com/chatd/chatd/internal/ports/limitstest"
)

func TestRateLimiterContract(t *testing.T) {
	opts := redisOptions(t)
	limitstest.RunRateLimiter(t, func(t *testing.T) ports.RateLimiter {
		client := newClient(t, opts)
		return NewRateLimiter(client, newPrefix(t, client))
	})
}

// Two limiters with their own connections and one prefix are two chatd
// processes.
func TestRateLimiterSharedContract(t *testing.T) {
	opts := redisOptions(t)
	limitstest.RunRateLimiterShared(t, func(t *testing.T) (a, b ports.RateLimiter) {
		clientA, clientB := newClient(t, opts), newClient(t, opts)
		prefix := newPrefix(t, clientA)
		return NewRateLimiter(clientA, prefix), NewRateLimiter(clientB, prefix)
	})
}

func TestGenerationSlotsContract(t *testing.T) {
	opts := redisOptions(t)
	limitstest.RunGenerationSlots(t, func(t *testing.T) ports.GenerationSlots {
		client := newClient(t, opts)
		return NewGenerationSlots(client, newPrefix(t, client))
	})
}

func TestGenerationSlotsSharedContract(t *testing.T) {
	opts := redisOptions(t)
	limitstest.RunGenerationSlotsShared(t, func(t *testing.T) (a, b ports.GenerationSlots) {
		clientA, clientB := newClient(t, opts), newClient(t, opts)
		prefix := newPrefix(t, clientA)
		return NewGenerationSlots(clientA, prefix), NewGenerationSlots(clientB, prefix)
	})
}
