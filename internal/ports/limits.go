package ports

import "time"

// Rate is an allowance of events per minute; zero or less means unlimited.
type Rate struct {
	PerMinute int
}

// RateLimiter keeps one budget per key (a user id, an address). Its memory is
// bounded; a shared store may replace it when chatd runs as several processes.
type RateLimiter interface {
	// Allow spends one event of key's budget at rate. When none is left it
	// returns false and how long until one is.
	Allow(key string, rate Rate, now time.Time) (ok bool, retryAfter time.Duration)
}
