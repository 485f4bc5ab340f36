package limitstest

import (
	"strconv"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/ports"
)

// These cases watch real time pass, since a slot's lease runs on the
// store's clock. They never fail for being slow: an early lapse is told
// from a late one by timing each call, and a case whose machine stalled for
// longer than a lease proves nothing and is tried again.

// keepTTL is the lease of a slot a case keeps alive: longer than shortTTL so
// that a keep-alive every keepTTL/10 comfortably outruns a loaded machine.
const keepTTL = time.Second

// earlyMargin allows for stores that keep time in milliseconds.
func earlyMargin(ttl time.Duration) time.Duration { return ttl / 10 }

// slotLapses has holder take a user's only slot with a short ttl and never
// renew it (its process died); waiter must get the slot once, and not
// before, the ttl has passed.
func slotLapses(t *testing.T, holder, waiter *slotsProbe) {
	start := time.Now()
	holder.mustAcquire("u", "dying", 1, shortTTL)
	deadline := start.Add(shortTTL + patience)
	for !waiter.acquire("u", "next", 1, longTTL) {
		if time.Now().After(deadline) {
			t.Fatalf("the slot is still held %v after its ttl of %v", patience, shortTTL)
		}
		waitTick(t, waiter.ctx)
	}
	// The call that got the slot began after start, so its store saw a time
	// less than this after the slot was taken.
	if elapsed := time.Since(start); elapsed < shortTTL-earlyMargin(shortTTL) {
		t.Fatalf("the slot was free %v after it was taken, before its ttl of %v", elapsed, shortTTL)
	}
	// The lapsed slot is gone: its reply gets no slot back while next holds it.
	holder.mustRefuse("u", "dying", 1)
}

// waitFor waits d of real time, the subject of the case.
func waitFor(t *testing.T, s *slotsProbe, d time.Duration) {
	t.Helper()
	select {
	case <-time.After(d):
	case <-s.ctx.Done():
		t.Fatalf("gave up waiting: %v", s.ctx.Err())
	}
}

func lapsedSlotIsNotRevived(t *testing.T, s *slotsProbe) {
	s.mustAcquire("u", "r1", 1, shortTTL)
	waitFor(t, s, shortTTL+shortTTL/2)
	// Renewing comes too late: r1 lapsed and does not hold a slot again.
	s.renew(longTTL, ports.HeldSlot{UserID: "u", ReplyID: "r1"})
	s.mustAcquire("u", "r2", 1, longTTL)
}

func renewingKeepsSlotsPastTTL(t *testing.T, s *slotsProbe) {
	keepsPastTTL(t, s, func(users []string) {
		held := make([]ports.HeldSlot, 0, len(users))
		for _, u := range users {
			held = append(held, ports.HeldSlot{UserID: u, ReplyID: replyOf(u)})
		}
		s.renew(keepTTL, held...) // both users' slots in one call
	})
}

func acquiringAgainKeepsASlot(t *testing.T, s *slotsProbe) {
	keepsPastTTL(t, s, func(users []string) {
		for _, u := range users {
			s.mustAcquire(u, replyOf(u), 1, keepTTL)
		}
	})
}

func replyOf(user string) string { return user + "-reply" }

// keepsPastTTL shows that keep, called every keepTTL/10, holds two users'
// only slots for two ttls.
func keepsPastTTL(t *testing.T, s *slotsProbe, keep func(users []string)) {
	const attempts = 3
	for attempt := range attempts {
		n := strconv.Itoa(attempt)
		if holdsPastTTL(t, s, []string{"a" + n, "b" + n}, keep) {
			return
		}
		t.Logf("attempt %d: the machine stalled for longer than a ttl, which shows nothing; trying again", attempt)
	}
	t.Fatalf("the machine stalled in all %d attempts: nothing shown", attempts)
}

// holdsPastTTL reports whether it saw the slots held after their first ttl
// had passed; it fails the test if one lapsed while kept.
func holdsPastTTL(t *testing.T, s *slotsProbe, users []string, keep func(users []string)) bool {
	start := time.Now()
	for _, u := range users {
		s.mustAcquire(u, replyOf(u), 1, keepTTL)
	}
	acquired := time.Now()
	lastKeep, shownPast := start, false
	for time.Since(acquired) < 2*keepTTL {
		waitFor(t, s, keepTTL/10)
		// Probing before keeping: a keep that takes a lapsed slot anew
		// must not hide the lapse.
		for _, u := range users {
			probeStart := time.Now()
			if s.acquire(u, "intruder", 1, longTTL) {
				// The slot was kept at lastKeep for another ttl.
				if since := time.Since(lastKeep); since < keepTTL-earlyMargin(keepTTL) {
					t.Fatalf("%s's slot lapsed %v after it was kept for %v", u, since, keepTTL)
				}
				return false
			}
			if probeStart.Sub(acquired) > keepTTL+earlyMargin(keepTTL) {
				shownPast = true
			}
		}
		keepStart := time.Now()
		keep(users)
		lastKeep = keepStart
	}
	for _, u := range users {
		s.release(u, replyOf(u))
		s.mustAcquire(u, "intruder", 1, longTTL)
	}
	return shownPast
}
