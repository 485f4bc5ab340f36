package llmsim

import (
	"context"
	"time"
)

// pacer spaces the chunks of one stream: the first goes at once (time to
// first token is waited before), each later one an interval after the
// previous. Each stream owns its ticker; nothing is shared between streams.
type pacer struct {
	ctx      context.Context
	interval time.Duration
	ticker   *time.Ticker
	started  bool
}

func newPacer(ctx context.Context, interval time.Duration) *pacer {
	return &pacer{ctx: ctx, interval: interval}
}

// next waits for the next chunk's turn; false when ctx ended first.
func (p *pacer) next() bool {
	if !p.started {
		p.started = true
		if p.interval > 0 {
			p.ticker = time.NewTicker(p.interval)
		}
		return p.ctx.Err() == nil
	}
	if p.ticker == nil {
		return p.ctx.Err() == nil
	}
	select {
	case <-p.ticker.C:
		return true
	case <-p.ctx.Done():
		return false
	}
}

func (p *pacer) stop() {
	if p.ticker != nil {
		p.ticker.Stop()
	}
}

// sleep waits d; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// waitFirstToken waits the time to first token, sending a keep-alive
// comment every keepAlive meanwhile; false when ctx ended first.
func waitFirstToken(w *StreamWriter, ttft, keepAlive time.Duration) bool {
	if keepAlive <= 0 || keepAlive >= ttft {
		return sleep(w.Context(), ttft)
	}
	first := time.NewTimer(ttft)
	defer first.Stop()
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-first.C:
			return true
		case <-tick.C:
			w.Comment("OPENROUTER PROCESSING")
		case <-w.Context().Done():
			return false
		}
	}
}
