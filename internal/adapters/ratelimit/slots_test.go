package ratelimit

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/ports"
	"github.com/chatd/chatd/internal/ports/limitstest"
)

func TestGenerationSlotsContract(t *testing.T) {
	limitstest.RunGenerationSlots(t, func(*testing.T) ports.GenerationSlots { return NewGenerationSlots() })
}

func TestGenerationSlotsSharedContract(t *testing.T) {
	limitstest.RunGenerationSlotsShared(t, func(*testing.T) (a, b ports.GenerationSlots) {
		s := NewGenerationSlots()
		return s, s
	})
}

// manualClock is moved by hand, so the lease is shown to the nanosecond.
type manualClock struct{ now time.Time }

func (c *manualClock) Now() time.Time          { return c.now }
func (c *manualClock) advance(d time.Duration) { c.now = c.now.Add(d) }

func mustAcquireSlot(t *testing.T, s *GenerationSlots, user, reply string, limit int, ttl time.Duration) bool {
	t.Helper()
	ok, err := s.Acquire(context.Background(), user, reply, limit, ttl)
	if err != nil {
		t.Fatalf("Acquire(%q, %q): %v", user, reply, err)
	}
	return ok
}

func TestSlotLapsesExactlyAtItsTTL(t *testing.T) {
	clock := &manualClock{now: t0}
	s := newGenerationSlots(clock.Now)
	if !mustAcquireSlot(t, s, "u", "r1", 1, time.Second) {
		t.Fatal("first slot refused")
	}
	clock.advance(time.Second - time.Nanosecond)
	if mustAcquireSlot(t, s, "u", "r2", 1, time.Second) {
		t.Fatal("slot free before its ttl")
	}
	clock.advance(time.Nanosecond)
	if !mustAcquireSlot(t, s, "u", "r2", 1, time.Second) {
		t.Fatal("slot still held at its ttl")
	}
}

func TestRenewExtendsFromNow(t *testing.T) {
	clock := &manualClock{now: t0}
	s := newGenerationSlots(clock.Now)
	mustAcquireSlot(t, s, "u", "r1", 1, time.Second)
	clock.advance(900 * time.Millisecond)
	if err := s.Renew(context.Background(), []ports.HeldSlot{{UserID: "u", ReplyID: "r1"}}, time.Second); err != nil {
		t.Fatal(err)
	}
	clock.advance(999 * time.Millisecond) // 1.899 s after the acquire, 0.999 s after the renewal
	if mustAcquireSlot(t, s, "u", "r2", 1, time.Second) {
		t.Fatal("renewed slot lapsed before ttl from the renewal")
	}
	clock.advance(time.Millisecond)
	if !mustAcquireSlot(t, s, "u", "r2", 1, time.Second) {
		t.Fatal("renewed slot held past ttl from the renewal")
	}
}

func TestMemoryFollowsHeldSlots(t *testing.T) {
	clock := &manualClock{now: t0}
	s := newGenerationSlots(clock.Now)
	for i := range 100 {
		user := "u" + strconv.Itoa(i)
		mustAcquireSlot(t, s, user, "r", 1, time.Second)
		if i%2 == 0 {
			if err := s.Release(context.Background(), user, "r"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := s.users(); n != 50 {
		t.Fatalf("%d users kept after half released, want 50", n)
	}
	// The other half forgot to release: the next sweep drops them.
	clock.advance(sweepEvery)
	mustAcquireSlot(t, s, "late", "r", 1, time.Second)
	if n := s.users(); n != 1 {
		t.Fatalf("%d users kept after the sweep, want only the new one", n)
	}
	// Releasing and renewing for unknown users leaves nothing behind.
	if err := s.Release(context.Background(), "ghost", "r"); err != nil {
		t.Fatal(err)
	}
	if err := s.Renew(context.Background(), []ports.HeldSlot{{UserID: "ghost2", ReplyID: "r"}}, time.Second); err != nil {
		t.Fatal(err)
	}
	if n := s.users(); n != 1 {
		t.Fatalf("%d users kept, want 1", n)
	}
}
