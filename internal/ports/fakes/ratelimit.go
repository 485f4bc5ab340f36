package fakes

import (
	"context"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/ports"
)

var _ ports.RateLimiter = (*RateLimiter)(nil)

// RateLimiter allows everything until told otherwise, and records what it
// was asked.
type RateLimiter struct {
	mu     sync.Mutex
	decide func(key string, rate ports.Rate, now time.Time) (bool, time.Duration)
	calls  []LimitCall
}

// LimitCall is one Allow call.
type LimitCall struct {
	Key  string
	Rate ports.Rate
	Now  time.Time
}

// NewRateLimiter returns a limiter that allows every call.
func NewRateLimiter() *RateLimiter { return &RateLimiter{} }

// Allow answers as configured (allowed by default).
func (l *RateLimiter) Allow(_ context.Context, key string, rate ports.Rate, now time.Time) (bool, time.Duration, error) {
	l.mu.Lock()
	l.calls = append(l.calls, LimitCall{Key: key, Rate: rate, Now: now})
	decide := l.decide
	l.mu.Unlock()
	if decide == nil {
		return true, 0, nil
	}
	ok, retry := decide(key, rate, now)
	return ok, retry, nil
}

// AllowAll lets every call pass again.
func (l *RateLimiter) AllowAll() { l.SetDecide(nil) }

// DenyAll refuses every call, telling the caller to retry after retryAfter.
func (l *RateLimiter) DenyAll(retryAfter time.Duration) {
	l.SetDecide(func(string, ports.Rate, time.Time) (bool, time.Duration) { return false, retryAfter })
}

// AllowFirst lets n calls per key pass, then refuses that key.
func (l *RateLimiter) AllowFirst(n int, retryAfter time.Duration) {
	var mu sync.Mutex
	seen := map[string]int{}
	l.SetDecide(func(key string, _ ports.Rate, _ time.Time) (bool, time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if seen[key] < n {
			seen[key]++
			return true, 0
		}
		return false, retryAfter
	})
}

// SetDecide answers every call with fn (nil: allow).
func (l *RateLimiter) SetDecide(fn func(key string, rate ports.Rate, now time.Time) (bool, time.Duration)) {
	l.mu.Lock()
	l.decide = fn
	l.mu.Unlock()
}

// Calls lists what the limiter was asked, in order.
func (l *RateLimiter) Calls() []LimitCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]LimitCall(nil), l.calls...)
}
