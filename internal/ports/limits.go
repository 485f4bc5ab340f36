package ports

import (
	"context"
	"time"
)

// Rate is an allowance of events per minute; zero or less means unlimited.
type Rate struct {
	PerMinute int
}

// RateLimiter keeps one budget per key (a user id, an address) for the
// whole service: when chatd runs as several processes, they share it.
type RateLimiter interface {
	// Allow spends one event of key's budget at rate. When none is left it
	// returns false and how long until one is. An error means the shared
	// store did not answer; nothing was spent.
	Allow(ctx context.Context, key string, rate Rate, now time.Time) (ok bool, retryAfter time.Duration, err error)
}

// GenerationSlots counts each user's replies generating anywhere in the
// service. A slot is held by a reply; a process renews the slots of the
// replies it generates, so the slots of a process that died lapse after ttl.
type GenerationSlots interface {
	// Acquire takes one of userID's slots for replyID, unless max are held
	// already (false). Acquiring a slot replyID holds already succeeds.
	Acquire(ctx context.Context, userID, replyID string, max int, ttl time.Duration) (bool, error)
	// Renew keeps the slots of these replies for another ttl from now.
	Renew(ctx context.Context, held []HeldSlot, ttl time.Duration) error
	// Release gives replyID's slot back; releasing a free slot does nothing.
	Release(ctx context.Context, userID, replyID string) error
}

// HeldSlot names one held slot.
type HeldSlot struct {
	UserID, ReplyID string
}
