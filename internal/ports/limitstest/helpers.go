// Package limitstest holds the contract suites every ports.RateLimiter and
// ports.GenerationSlots must pass, so the in-memory and shared-store
// implementations are shown to keep the same rules rather than assumed to.
//
// Each suite takes an open function that returns a fresh, empty instance for
// each case; the Shared variants take one that returns two instances on one
// backend (two processes of one service) and check that the limits hold
// across them.
package limitstest

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"
)

// callTimeout bounds each case, so a store that hangs fails the case instead
// of the whole run.
const callTimeout = time.Minute

// patience is how long a case waits for something that must happen soon
// (a lapsed slot freeing); generous for a loaded machine under -race.
const patience = 30 * time.Second

// pollEvery is the gap between two looks while waiting.
const pollEvery = 10 * time.Millisecond

// t0 is the rate limiters' clock at the start of each case; they take the
// time as an argument, so the cases move it instead of sleeping.
var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
	t.Cleanup(cancel)
	return ctx
}

// runCases runs each case as a subtest, in name order, so that a failure
// names the rule that was broken.
func runCases(t *testing.T, cases map[string]func(t *testing.T)) {
	for _, name := range slices.Sorted(maps.Keys(cases)) {
		t.Run(name, cases[name])
	}
}

// waitTick waits one poll interval, or fails the test if its context ends.
func waitTick(t *testing.T, ctx context.Context) {
	t.Helper()
	select {
	case <-time.After(pollEvery):
	case <-ctx.Done():
		t.Fatalf("gave up waiting: %v", ctx.Err())
	}
}
