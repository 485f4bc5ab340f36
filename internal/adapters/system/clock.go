// Package system adapts the process's clock and randomness to the core's ports.
package system

import (
	"time"

	"github.com/chatd/chatd/internal/ports"
)

var _ ports.Clock = (*Clock)(nil)

// Clock is the wall clock.
type Clock struct{}

// NewClock returns the wall clock.
func NewClock() *Clock { return &Clock{} }

// Now returns the current time in UTC, so stored and serialized times never
// depend on the host's time zone.
func (*Clock) Now() time.Time { return time.Now().UTC() }
