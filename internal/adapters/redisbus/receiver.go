package redisbus

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/ports"
)

// receive reads the pub/sub connection for the life of the bus. go-redis
// reconnects it after an error and subscribes every channel again; the
// confirmations that follow tell each room to catch up from its stream.
func (b *Bus) receive() {
	defer close(b.loopDone)
	failures := 0
	for {
		ps := b.pubsub()
		b.waiting.Store(true)
		msg, err := ps.Receive(b.ctx)
		b.waiting.Store(false)
		if b.stopping() {
			return
		}
		b.heard.Store(int64(time.Since(b.started)))
		if err != nil {
			if b.pubsub() != ps {
				continue // the watchdog replaced a dead connection
			}
			failures++
			if failures == 1 {
				b.log.Warn("lost the Redis pub/sub connection; reconnecting", zap.Error(err))
			}
			if !b.pause(backoff(failures)) {
				return
			}
			continue
		}
		if failures > 0 {
			b.log.Info("the Redis pub/sub connection is back", zap.Int("failed_attempts", failures))
			failures = 0
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				b.onSubscribed(m.Channel)
			}
		case *redis.Message:
			b.onMessage(m)
		}
	}
}

func (b *Bus) pubsub() *redis.PubSub {
	b.chanMu.Lock()
	defer b.chanMu.Unlock()
	return b.ps
}

// backoff is how long the receive loop waits after its n-th failure in a
// row: go-redis redials at every receive, and Redis may be down for long.
func backoff(n int) time.Duration {
	return min(50*time.Millisecond<<min(n-1, 5), time.Second)
}

// pause waits d unless the bus closes first; it reports whether to go on.
func (b *Bus) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-b.ctx.Done():
		return false
	}
}

// watch pings a quiet pub/sub connection, and replaces one that does not
// answer: a connection can die without an error (a peer or a middlebox gone
// without a reset), and then the receive loop would wait forever while
// events go by.
func (b *Bus) watch() {
	defer close(b.watchDone)
	tick := time.NewTicker(b.tune.quietPing)
	defer tick.Stop()
	var pingedAt int64 = -1 // when the unanswered ping went out, -1 for none
	for {
		select {
		case <-tick.C:
		case <-b.ctx.Done():
			return
		}
		now, heard := int64(time.Since(b.started)), b.heard.Load()
		switch {
		case pingedAt >= 0 && heard < pingedAt && !b.waiting.Load():
			// Busy with a message (a catch-up, a room held by Subscribe):
			// the pong may be waiting to be read; look again next tick.
		case pingedAt >= 0 && heard < pingedAt:
			b.log.Warn("the Redis pub/sub connection does not answer; replacing it")
			b.reopen()
			pingedAt = -1
		case now-heard >= int64(b.tune.quietPing):
			ctx, cancel := context.WithTimeout(b.ctx, b.tune.opTimeout)
			_ = b.pubsub().Ping(ctx) // the pong, or the error, reaches the receive loop
			cancel()
			pingedAt = now
		default:
			pingedAt = -1
		}
	}
}

// reopen replaces the pub/sub connection by a new one subscribed to the same
// channels, and closes the old one, which ends the receive loop's wait.
func (b *Bus) reopen() {
	b.chanMu.Lock()
	if b.stopping() {
		b.chanMu.Unlock()
		return
	}
	b.mu.Lock()
	channels := make([]string, 0, len(b.rooms)+1)
	channels = append(channels, b.keys.control)
	for _, r := range b.rooms {
		channels = append(channels, r.channel)
	}
	b.mu.Unlock()
	dead := b.ps
	ctx, cancel := context.WithTimeout(b.ctx, b.tune.opTimeout)
	b.ps = b.client.Subscribe(ctx, channels...) // on failure, subscribed at its first receive
	cancel()
	b.chanMu.Unlock()
	_ = dead.Close()
}

// onSubscribed handles Redis's confirmation of a channel. The first one
// lets Subscribe read the session's state; a later one follows a lost
// connection, during which events went by: the room reads them from the
// stream.
func (b *Bus) onSubscribed(channel string) {
	session, ok := b.keys.sessionOf(channel)
	if !ok {
		return
	}
	r := b.room(session)
	if r == nil {
		return
	}
	r.mu.Lock()
	var ended []*subscription
	switch {
	case !r.heard:
		r.heard = true
		close(r.confirmed)
	case r.ready:
		ended = b.catchUpLocked(r)
	}
	r.mu.Unlock()
	b.releaseLater(r, len(ended))
}

func (b *Bus) onMessage(m *redis.Message) {
	if m.Channel == b.keys.control {
		b.onControl(m.Payload)
		return
	}
	session, ok := b.keys.sessionOf(m.Channel)
	if !ok {
		return
	}
	r := b.room(session)
	if r == nil {
		return // a message sent before this process unsubscribed
	}
	f, err := parseFrame(m.Payload)
	if err != nil {
		// Its seq is unknown: the next event finds the gap, if it was one.
		b.log.Warn("ignoring a malformed frame", zap.String("channel", m.Channel), zap.Error(err))
		return
	}
	r.mu.Lock()
	ended := b.onFrameLocked(r, f)
	r.mu.Unlock()
	b.releaseLater(r, len(ended))
}

// onFrameLocked hands a live event to the room's subscribers in seq order,
// reading what pub/sub dropped from the stream first. It returns the
// subscribers it ended.
func (b *Bus) onFrameLocked(r *room, f frame) []*subscription {
	if !r.ready {
		return nil // no subscriber yet: the first one reads the state itself
	}
	if f.kind == frameSignal {
		e, err := decodeEvent(f.body, 0)
		if err != nil {
			b.log.Warn("ignoring a malformed signal", zap.String("session_id", r.session), zap.Error(err))
			return nil
		}
		return r.deliverLocked(e, nil)
	}
	switch {
	case f.seq <= r.last:
		return nil // handed out already, from the stream
	case f.seq == r.last+1, f.kind == frameFirst && r.last == 0:
		// The next one; or the first event of a session the subscribers saw
		// without a counter, before which nothing was published.
		e, err := decodeEvent(f.body, f.seq)
		if err != nil {
			return b.failLocked(r, "a malformed event", err)
		}
		r.last = f.seq
		return r.deliverLocked(e, nil)
	default:
		return b.catchUpLocked(r)
	}
}

// catchUpLocked hands the room's subscribers every event after r.last from
// the stream, or ends them as slow when the stream no longer has them all.
func (b *Bus) catchUpLocked(r *room) []*subscription {
	var (
		res ports.Resume
		err error
	)
	for range 3 { // a reconnection can leave dead connections in the pool
		ctx, cancel := context.WithTimeout(b.ctx, b.tune.opTimeout)
		res, err = b.read(ctx, r.session, r.last)
		cancel()
		if err == nil || b.stopping() {
			break
		}
	}
	switch {
	case err != nil:
		return b.failLocked(r, "cannot read the stream", err)
	case !res.Complete:
		return b.failLocked(r, "the stream no longer has the missed events", nil)
	}
	var ended []*subscription
	for _, e := range res.Backlog {
		if e.Seq > r.last {
			r.last = e.Seq
			ended = r.deliverLocked(e, ended)
		}
	}
	return ended
}

// failLocked ends the room's subscribers as slow: they missed events this
// process cannot give them, and resume from their last seq (a snapshot if
// need be). The next subscriber reads the session's state afresh.
func (b *Bus) failLocked(r *room, why string, err error) []*subscription {
	if len(r.subs) > 0 && !errors.Is(err, context.Canceled) {
		b.log.Warn("ending a session's subscribers, who missed events", zap.String("session_id", r.session),
			zap.String("reason", why), zap.Int64("last_seq", r.last), zap.Int("subscribers", len(r.subs)), zap.Error(err))
	}
	r.ready = false
	return r.endAllLocked(ports.ErrSlowConsumer)
}
