package app

import (
	"context"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// slotTerm is how long a user's generation slot outlives its process: the
// process renews its slots with its leases, so a dead one's slots lapse.
const slotTerm = leaseTerm

// slot is one of a user's concurrent-generation slots, held by one reply
// in the service-wide GenerationSlots. It is freed for the user when the
// reply's end is stored, before that end is announced, so a client that
// posts again on seeing it is not refused; Stop waits until the work that
// holds it is done (free, then done; both idempotent).
type slot struct {
	g        *Generator
	held     ports.HeldSlot
	counted  bool // taken in g.slots: a limit applies
	freeOnce sync.Once
	doneOnce sync.Once
}

// free gives the user's slot back.
func (s *slot) free() {
	s.freeOnce.Do(func() {
		s.g.mu.Lock()
		delete(s.g.held, s)
		s.g.mu.Unlock()
		if !s.counted {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), announceTimeout)
		defer cancel()
		if err := s.g.slots.Release(ctx, s.held.UserID, s.held.ReplyID); err != nil {
			// It lapses by itself once no longer renewed.
			s.g.log.Warn("release generation slot", "reply_id", s.held.ReplyID, "error", err)
		}
	})
}

// done frees the slot and ends the work Stop waits for.
func (s *slot) done() {
	s.free()
	s.doneOnce.Do(s.g.wg.Done)
}

// reserve takes one of the user's concurrent-generation slots for replyID.
func (g *Generator) reserve(ctx context.Context, userID, replyID string) (*slot, error) {
	g.mu.Lock()
	if g.stopping {
		g.mu.Unlock()
		return nil, domain.Unavailable("shutting-down", "the server is restarting; try again in a moment", nil)
	}
	// A reserved slot counts as running work: Stop waits for it, so a post
	// admitted before the stop cannot start a reply after Stop returned.
	g.wg.Add(1)
	g.mu.Unlock()

	s := &slot{g: g, held: ports.HeldSlot{UserID: userID, ReplyID: replyID}}
	if limit := g.cfg.MaxConcurrentPerUser; limit > 0 {
		ok, err := g.slots.Acquire(ctx, userID, replyID, limit, slotTerm)
		if err != nil {
			g.wg.Done()
			return nil, domain.Unavailable("limits-unavailable",
				"the service cannot check your limits right now; try again shortly", err)
		}
		if !ok {
			g.wg.Done()
			return nil, domain.RateLimited("too-many-generations",
				"you already have the maximum number of replies generating; wait for one to finish", 2*time.Second)
		}
		s.counted = true
	}
	g.mu.Lock()
	g.held[s] = struct{}{}
	g.mu.Unlock()
	return s, nil
}

// renewSlots keeps the slots this process holds for another slotTerm.
func (g *Generator) renewSlots(ctx context.Context) {
	g.mu.Lock()
	held := make([]ports.HeldSlot, 0, len(g.held))
	for s := range g.held {
		if s.counted {
			held = append(held, s.held)
		}
	}
	g.mu.Unlock()
	if len(held) == 0 {
		return
	}
	if err := g.slots.Renew(ctx, held, slotTerm); err != nil {
		g.log.Warn("renew generation slots", "error", err)
	}
}
