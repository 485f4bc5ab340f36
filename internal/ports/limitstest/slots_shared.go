package limitstest

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/ports"
)

// RunGenerationSlotsShared checks that a user's slots are counted for the
// whole service: open returns two GenerationSlots on one fresh backend (as
// two processes of chatd would hold).
func RunGenerationSlotsShared(t *testing.T, open func(t *testing.T) (a, b ports.GenerationSlots)) {
	cases := map[string]func(t *testing.T, a, b *slotsProbe){
		"instances count one user's slots together": func(t *testing.T, a, b *slotsProbe) {
			a.mustAcquire("u", "r1", 2, longTTL)
			b.mustAcquire("u", "r2", 2, longTTL)
			a.mustRefuse("u", "r3", 2)
			b.mustRefuse("u", "r3", 2)
			// A reply holding a slot through a keeps it through b, once.
			b.mustAcquire("u", "r1", 2, longTTL)
			b.mustRefuse("u", "r3", 2)
			// Either may release any reply's slot.
			a.release("u", "r2")
			b.mustAcquire("u", "r3", 2, longTTL)
			a.mustRefuse("u", "r4", 2)
		},
		"a dead instance's slot lapses for the other": func(t *testing.T, a, b *slotsProbe) {
			slotLapses(t, a, b)
		},
		"concurrent acquires on both get exactly max slots": func(t *testing.T, a, b *slotsProbe) {
			concurrentAcquiresGetMax(t, a.ctx, []ports.GenerationSlots{a.gs, b.gs})
		},
		"never more than max in use under churn": func(t *testing.T, a, b *slotsProbe) {
			neverMoreThanMaxInUse(t, a.ctx, []ports.GenerationSlots{a.gs, b.gs})
			// Every slot came back: max are free again, and no more.
			for i := range churnMax {
				a.mustAcquire("u", "after-"+strconv.Itoa(i), churnMax, longTTL)
			}
			b.mustRefuse("u", "one-too-many", churnMax)
		},
	}
	out := make(map[string]func(*testing.T), len(cases))
	for name, run := range cases {
		out[name] = func(t *testing.T) {
			gsA, gsB := open(t)
			run(t, newSlotsProbe(t, gsA), newSlotsProbe(t, gsB))
		}
	}
	runCases(t, out)
}

// concurrentAcquiresGetMax has goroutines on every instance ask at once
// for a slot each, for one user: exactly max get one.
func concurrentAcquiresGetMax(t *testing.T, ctx context.Context, instances []ports.GenerationSlots) {
	const (
		limit       = 3
		perInstance = 8
	)
	var granted atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, gs := range instances {
		for g := range perInstance {
			wg.Go(func() {
				<-start
				ok, err := gs.Acquire(ctx, "u", "r"+strconv.Itoa(i)+"-"+strconv.Itoa(g), limit, longTTL)
				if err != nil {
					t.Errorf("Acquire: %v", err)
				}
				if ok {
					granted.Add(1)
				}
			})
		}
	}
	close(start)
	wg.Wait()
	if got := granted.Load(); got != limit {
		t.Fatalf("%d of %d concurrent acquires got a slot, want exactly max %d", got, len(instances)*perInstance, limit)
	}
}

const churnMax = 3

// neverMoreThanMaxInUse runs goroutines on every instance that take a slot,
// hold it briefly and give it back, counting how many think they hold one:
// a correct store never lets that count pass max.
func neverMoreThanMaxInUse(t *testing.T, ctx context.Context, instances []ports.GenerationSlots) {
	const (
		perInstance = 8
		rounds      = 25
	)
	var inUse, peak, granted atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, gs := range instances {
		for g := range perInstance {
			wg.Go(func() {
				<-start
				for round := range rounds {
					reply := "r" + strconv.Itoa(i) + "-" + strconv.Itoa(g) + "-" + strconv.Itoa(round)
					ok, err := gs.Acquire(ctx, "u", reply, churnMax, longTTL)
					if err != nil {
						t.Errorf("Acquire: %v", err)
						return
					}
					if !ok {
						continue
					}
					granted.Add(1)
					// Counted from after Acquire to before Release, so never
					// more than the store holds.
					n := inUse.Add(1)
					raiseTo(&peak, n)
					if n > churnMax {
						t.Errorf("%d slots in use, max %d", n, churnMax)
					}
					// Work a little while holding the slot, so that holders
					// overlap and the store has something to refuse.
					time.Sleep(time.Millisecond)
					inUse.Add(-1)
					if err := gs.Release(ctx, "u", reply); err != nil {
						t.Errorf("Release: %v", err)
						return
					}
				}
			})
		}
	}
	close(start)
	wg.Wait()
	if granted.Load() == 0 || peak.Load() == 0 {
		t.Fatal("no goroutine ever got a slot: the case showed nothing")
	}
	t.Logf("%d slots granted, at most %d in use at once", granted.Load(), peak.Load())
}

// raiseTo sets v to n if n is larger.
func raiseTo(v *atomic.Int64, n int64) {
	for {
		p := v.Load()
		if n <= p || v.CompareAndSwap(p, n) {
			return
		}
	}
}
