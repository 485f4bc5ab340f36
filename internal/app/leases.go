package app

import (
	"context"
	"time"

	"github.com/chatd/chatd/internal/domain"
)

// A process holds a lease on each reply it generates and renews it on every
// upkeep tick. When a process dies its leases lapse, and whichever process
// looks first stores those replies as interrupted and announces their end:
// at most leaseTerm + repairEvery after the death, well within the 10 s
// the contract allows. Process clocks must agree to within a second or so
// (NTP), since one process writes a lease and another judges it.
const (
	leaseTerm   = 5 * time.Second
	renewEvery  = time.Second
	repairEvery = 2 * time.Second
)

// upkeepLoop, off the token path: flushes the text of every streaming reply
// that changed once per FlushInterval, renews this process's leases, and
// repairs the replies of dead processes.
func (g *Generator) upkeepLoop() {
	defer close(g.flusherEnd)
	flush := time.NewTicker(g.cfg.FlushInterval)
	defer flush.Stop()
	renew := time.NewTicker(renewEvery)
	defer renew.Stop()
	repair := time.NewTicker(repairEvery)
	defer repair.Stop()
	for {
		select {
		case <-g.flusherOff:
			return
		case <-flush.C:
			g.flushAll()
		case <-renew.C:
			g.renewLeases()
		case <-repair.C:
			ctx, cancel := context.WithTimeout(context.Background(), repairEvery)
			if err := g.repairLapsed(ctx, g.clock.Now()); err != nil {
				g.log.Warn("repair replies of dead processes", "error", err)
			}
			cancel()
		}
	}
}

// renewLeases extends the leases and generation slots of the replies this
// process generates.
func (g *Generator) renewLeases() {
	ctx, cancel := context.WithTimeout(context.Background(), renewEvery)
	defer cancel()
	g.renewSlots(ctx)
	g.mu.Lock()
	running := len(g.runs)
	g.mu.Unlock()
	if running == 0 {
		return
	}
	if err := g.messages.RenewLeases(ctx, g.owner, g.clock.Now().Add(leaseTerm)); err != nil {
		g.log.Warn("renew reply leases", "error", err)
	}
}

// repairLapsed stores the replies whose process died (their lease lapsed
// by lapsedBy) as interrupted, with their text, and tells their subscribers.
func (g *Generator) repairLapsed(ctx context.Context, lapsedBy time.Time) error {
	repaired, err := g.messages.RepairLapsed(ctx, lapsedBy, g.clock.Now(), g.owner)
	if err != nil {
		return err
	}
	if len(repaired) > 0 {
		g.log.Warn("repaired replies left generating by a process that stopped", "count", len(repaired))
	}
	for _, m := range repaired {
		final := m.Snapshot()
		g.announce.PublishFinal(ctx, domain.SessionEvent{
			Type: domain.FinalEventOf(final.Status), SessionID: final.SessionID, Message: &final,
		})
	}
	return nil
}

// lostLease tells a write refused because another process repaired the reply.
func lostLease(err error) bool {
	de, ok := domain.AsError(err)
	return ok && de.Code == "reply-not-owned"
}
