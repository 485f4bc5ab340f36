package limitstest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/ports"
)

// longTTL outlives every case, for cases about counting, not lapsing.
const longTTL = 10 * time.Minute

// shortTTL is the lease of a slot whose lapse a case waits for.
const shortTTL = 300 * time.Millisecond

// RunGenerationSlots is the contract of one ports.GenerationSlots; open
// returns fresh slots (an empty store) for each case. A user holds at most
// max slots (max <= 0: unlimited), one per reply; Release frees a slot and
// is a no-op for a free one; a slot not renewed lapses after its ttl.
func RunGenerationSlots(t *testing.T, open func(t *testing.T) ports.GenerationSlots) {
	cases := map[string]func(t *testing.T, s *slotsProbe){
		"max held, then refused":                     maxHeldThenRefused,
		"release frees a slot":                       releaseFreesASlot,
		"releasing a free slot does nothing":         releasingAFreeSlotDoesNothing,
		"acquiring twice for one reply holds one":    acquiringTwiceHoldsOne,
		"users are independent":                      usersAreIndependent,
		"max of zero or less is unlimited":           maxZeroIsUnlimited,
		"a ttl of zero or less is an error":          nonPositiveTTLIsAnError,
		"renewing nothing succeeds":                  renewingNothingSucceeds,
		"renewing a released slot does not take it":  renewingAReleasedSlotDoesNotTakeIt,
		"renewing keeps slots past their ttl":        renewingKeepsSlotsPastTTL,
		"acquiring again keeps a slot past its ttl":  acquiringAgainKeepsASlot,
		"a slot not renewed lapses after its ttl":    func(t *testing.T, s *slotsProbe) { slotLapses(t, s, s) },
		"concurrent acquires get exactly max slots":  func(t *testing.T, s *slotsProbe) { concurrentAcquiresGetMax(t, s.ctx, []ports.GenerationSlots{s.gs}) },
		"a lapsed slot is not counted after renewal": lapsedSlotIsNotRevived,
	}
	out := make(map[string]func(*testing.T), len(cases))
	for name, run := range cases {
		out[name] = func(t *testing.T) { run(t, newSlotsProbe(t, open(t))) }
	}
	runCases(t, out)
}

// slotsProbe calls slots and fails the test on an error.
type slotsProbe struct {
	t   *testing.T
	ctx context.Context
	gs  ports.GenerationSlots
}

func newSlotsProbe(t *testing.T, gs ports.GenerationSlots) *slotsProbe {
	return &slotsProbe{t: t, ctx: testContext(t), gs: gs}
}

func (s *slotsProbe) acquire(user, reply string, limit int, ttl time.Duration) bool {
	s.t.Helper()
	ok, err := s.gs.Acquire(s.ctx, user, reply, limit, ttl)
	if err != nil {
		s.t.Fatalf("Acquire(%q, %q, max %d): %v", user, reply, limit, err)
	}
	return ok
}

func (s *slotsProbe) mustAcquire(user, reply string, limit int, ttl time.Duration) {
	s.t.Helper()
	if !s.acquire(user, reply, limit, ttl) {
		s.t.Fatalf("Acquire(%q, %q, max %d) refused, want a slot", user, reply, limit)
	}
}

func (s *slotsProbe) mustRefuse(user, reply string, limit int) {
	s.t.Helper()
	if s.acquire(user, reply, limit, longTTL) {
		s.t.Fatalf("Acquire(%q, %q, max %d) took a slot, want refused", user, reply, limit)
	}
}

func (s *slotsProbe) release(user, reply string) {
	s.t.Helper()
	if err := s.gs.Release(s.ctx, user, reply); err != nil {
		s.t.Fatalf("Release(%q, %q): %v", user, reply, err)
	}
}

func (s *slotsProbe) renew(ttl time.Duration, held ...ports.HeldSlot) {
	s.t.Helper()
	if err := s.gs.Renew(s.ctx, held, ttl); err != nil {
		s.t.Fatalf("Renew(%v): %v", held, err)
	}
}

func maxHeldThenRefused(t *testing.T, s *slotsProbe) {
	for i := range 3 {
		s.mustAcquire("u", "r"+strconv.Itoa(i), 3, longTTL)
	}
	s.mustRefuse("u", "r3", 3)
	s.mustRefuse("u", "r3", 3) // a refusal takes nothing and changes nothing
	// A lower max refuses too; a higher one has room.
	s.mustRefuse("u", "r3", 2)
	s.mustAcquire("u", "r3", 4, longTTL)
}

func releaseFreesASlot(t *testing.T, s *slotsProbe) {
	s.mustAcquire("u", "r1", 2, longTTL)
	s.mustAcquire("u", "r2", 2, longTTL)
	s.mustRefuse("u", "r3", 2)
	s.release("u", "r1")
	s.mustAcquire("u", "r3", 2, longTTL)
	s.mustRefuse("u", "r4", 2)
}

func releasingAFreeSlotDoesNothing(t *testing.T, s *slotsProbe) {
	s.release("nobody", "r0") // a user with no slots at all
	s.mustAcquire("u", "r1", 2, longTTL)
	s.mustAcquire("u", "r2", 2, longTTL)
	s.release("u", "never-held")
	s.release("other", "r1") // the reply is held, but by u
	s.mustRefuse("u", "r3", 2)
	s.release("u", "r1")
	s.release("u", "r1") // twice frees one slot, not two
	s.mustAcquire("u", "r3", 2, longTTL)
	s.mustRefuse("u", "r4", 2)
}

func acquiringTwiceHoldsOne(t *testing.T, s *slotsProbe) {
	s.mustAcquire("u", "r1", 2, longTTL)
	s.mustAcquire("u", "r1", 2, longTTL)
	s.mustAcquire("u", "r2", 2, longTTL)
	// At max, a reply that holds a slot still gets it.
	s.mustAcquire("u", "r1", 2, longTTL)
	s.mustRefuse("u", "r3", 2)
	s.release("u", "r1") // one release frees r1 entirely
	s.mustAcquire("u", "r3", 2, longTTL)
}

func usersAreIndependent(t *testing.T, s *slotsProbe) {
	s.mustAcquire("a", "ra", 1, longTTL)
	s.mustAcquire("b", "rb", 1, longTTL)
	s.mustRefuse("a", "ra2", 1)
	s.mustRefuse("b", "rb2", 1)
	s.release("a", "ra")
	s.mustAcquire("a", "ra2", 1, longTTL)
	s.mustRefuse("b", "rb2", 1)
}

func maxZeroIsUnlimited(t *testing.T, s *slotsProbe) {
	for _, limit := range []int{0, -1} {
		for i := range 50 {
			s.mustAcquire("u", "r"+strconv.Itoa(limit)+"-"+strconv.Itoa(i), limit, longTTL)
		}
	}
	// Slots taken while unlimited are held all the same: once a limit
	// applies again, they count against it.
	s.mustRefuse("u", "another", 100)
	s.mustAcquire("u", "another", 101, longTTL)
}

func nonPositiveTTLIsAnError(t *testing.T, s *slotsProbe) {
	for _, ttl := range []time.Duration{0, -time.Second} {
		if ok, err := s.gs.Acquire(s.ctx, "u", "r1", 1, ttl); err == nil || ok {
			t.Fatalf("Acquire with ttl %v = %v, %v; want false and an error", ttl, ok, err)
		}
	}
	// Nothing was taken.
	s.mustAcquire("u", "r2", 1, longTTL)
	for _, ttl := range []time.Duration{0, -time.Second} {
		if err := s.gs.Renew(s.ctx, []ports.HeldSlot{{UserID: "u", ReplyID: "r2"}}, ttl); err == nil {
			t.Fatalf("Renew with ttl %v: want an error", ttl)
		}
	}
	s.mustRefuse("u", "r3", 1)
}

func renewingNothingSucceeds(t *testing.T, s *slotsProbe) {
	s.renew(longTTL)
	s.renew(longTTL, []ports.HeldSlot{}...)
}

func renewingAReleasedSlotDoesNotTakeIt(t *testing.T, s *slotsProbe) {
	s.mustAcquire("u", "r1", 1, longTTL)
	s.release("u", "r1")
	s.renew(longTTL, ports.HeldSlot{UserID: "u", ReplyID: "r1"}, ports.HeldSlot{UserID: "u", ReplyID: "never"})
	s.mustAcquire("u", "r2", 1, longTTL)
	s.mustRefuse("u", "r1", 1)
}
