package fakes

import (
	"sync"
	"time"

	"github.com/chatd/chatd/internal/ports"
)

var _ ports.Clock = (*Clock)(nil)

// Clock is a settable clock: it stands still until a test moves it.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Epoch is where NewClock starts when given the zero time: a fixed instant
// with sub-millisecond digits, so storage precision shows.
var Epoch = time.Date(2026, 11, 25, 9, 30, 0, 123_456_789, time.UTC)

// NewClock returns a clock standing at start (Epoch if zero).
func NewClock(start time.Time) *Clock {
	if start.IsZero() {
		start = Epoch
	}
	return &Clock{now: start.UTC()}
}

// Now tells the clock's time, in UTC as the real clock does.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t, backwards too.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t.UTC()
	c.mu.Unlock()
}

// Advance moves the clock by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}
