package redisbus

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/adapters/eventqueue"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// room is this process's subscription to one session: one pub/sub channel
// however many local subscribers, and the seq they have been handed.
type room struct {
	session   string
	channel   string
	confirmed chan struct{} // closed at the broker's first confirmation of the channel

	users int // local subscribers and Subscribe calls in progress; under Bus.mu

	mu     sync.Mutex
	heard  bool  // confirmed is closed
	ready  bool  // last is known: a subscriber read the session's state
	last   int64 // seq of the newest event handed to the subscribers
	subs   map[*subscription]struct{}
	closed bool // the bus closed
}

func newRoom(session, channel string) *room {
	return &room{session: session, channel: channel, confirmed: make(chan struct{}), subs: map[*subscription]struct{}{}}
}

// Subscribe starts receiving the session's events published after afterSeq
// (negative: from now on). The first local subscriber of a session
// subscribes this process to its channel, and waits for Redis to confirm
// it before reading the session's state, so no event falls between the
// Resume and the live feed.
func (b *Bus) Subscribe(ctx context.Context, sessionID string, afterSeq int64, buffer int) (ports.Subscription, ports.Resume, error) {
	r, err := b.acquire(ctx, sessionID)
	if err != nil {
		return nil, ports.Resume{}, err
	}
	s, res, ended, err := b.join(ctx, r, afterSeq, max(0, buffer))
	for range ended {
		b.release(r)
	}
	if err != nil {
		b.release(r)
		return nil, ports.Resume{}, err
	}
	return s, res, nil
}

// acquire returns the session's room, subscribed to its channel, counting
// the caller as a user until it calls release.
func (b *Bus) acquire(ctx context.Context, sessionID string) (*room, error) {
	b.chanMu.Lock()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.chanMu.Unlock()
		return nil, ErrClosed
	}
	r := b.rooms[sessionID]
	fresh := r == nil
	if fresh {
		r = newRoom(sessionID, b.keys.channel(sessionID))
		b.rooms[sessionID] = r
	}
	r.users++
	b.mu.Unlock()
	if fresh {
		// On failure go-redis keeps the channel and subscribes it when it
		// reconnects; the wait below decides whether that is soon enough.
		_ = b.ps.Subscribe(ctx, r.channel)
	}
	b.chanMu.Unlock()

	wait := time.NewTimer(b.tune.opTimeout)
	defer wait.Stop()
	select {
	case <-r.confirmed:
		return r, nil
	case <-ctx.Done():
		b.release(r)
		return nil, fmt.Errorf("redisbus: subscribe to session %s: %w", sessionID, ctx.Err())
	case <-wait.C:
		b.release(r)
		return nil, fmt.Errorf("redisbus: subscribe to session %s: Redis did not confirm within %s", sessionID, b.tune.opTimeout)
	case <-b.ctx.Done():
		b.release(r)
		return nil, ErrClosed
	}
}

// release undoes one acquire; the last user unsubscribes the channel.
func (b *Bus) release(r *room) {
	b.chanMu.Lock()
	defer b.chanMu.Unlock()
	b.mu.Lock()
	r.users--
	gone := r.users == 0 && b.rooms[r.session] == r
	if gone {
		delete(b.rooms, r.session)
	}
	closed := b.closed
	b.mu.Unlock()
	if gone && !closed {
		ctx, cancel := context.WithTimeout(b.ctx, b.tune.opTimeout)
		defer cancel()
		_ = b.ps.Unsubscribe(ctx, r.channel) // on failure go-redis forgets it all the same
	}
}

// releaseLater releases n users of r off the receive loop, which must not
// wait for chanMu (an acquire may hold it while go-redis redials).
func (b *Bus) releaseLater(r *room, n int) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.async.Go(func() {
		for range n {
			b.release(r)
		}
	})
}

// join reads the session's state and adds a subscriber from there. It holds
// the room while it reads: every event the receive loop handed out before
// was published before the read, so none is newer than the Resume's
// LastSeq, and every later one reaches the new subscriber. It returns the
// subscribers it ended (their users to release).
func (b *Bus) join(ctx context.Context, r *room, afterSeq int64, buffer int) (*subscription, ports.Resume, []*subscription, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ports.Resume{}, nil, ErrClosed
	}
	res, err := b.read(ctx, r.session, afterSeq)
	if err != nil {
		return nil, ports.Resume{}, nil, err
	}
	var ended []*subscription
	switch {
	case !r.ready:
		r.ready, r.last = true, res.LastSeq
	case res.LastSeq < r.last:
		// The counter went back: the session's keys expired or Redis lost
		// its data. The room's subscribers may have missed events that no
		// longer exist anywhere; they resume from a snapshot.
		ended = b.failLocked(r, "the session's seq went back", nil)
		r.ready, r.last = true, res.LastSeq
	}
	s := &subscription{bus: b, room: r, from: res.LastSeq, q: eventqueue.New(buffer)}
	r.subs[s] = struct{}{}
	return s, res, ended, nil
}

// closeLocal ends the session's local subscriptions, as another process's
// Close asked.
func (b *Bus) closeLocal(sessionID string) {
	r := b.room(sessionID)
	if r == nil {
		return
	}
	r.mu.Lock()
	ended := r.endAllLocked(nil)
	r.ready = false // a later subscriber reads the state afresh
	r.mu.Unlock()
	b.releaseLater(r, len(ended))
}

func (b *Bus) room(sessionID string) *room {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rooms[sessionID]
}

// deliverLocked hands e to every subscriber that does not hold it yet and
// ends those whose buffer is full. It returns ended with them appended.
func (r *room) deliverLocked(e domain.SessionEvent, ended []*subscription) []*subscription {
	for s := range r.subs {
		if e.Seq != 0 && e.Seq <= s.from {
			continue // in the subscriber's Resume
		}
		if !s.q.Push(e) {
			// Never skip an event silently: the reader resumes from the
			// last seq it saw.
			delete(r.subs, s)
			s.end(ports.ErrSlowConsumer)
			ended = append(ended, s)
		}
	}
	return ended
}

func (r *room) endAllLocked(err error) []*subscription {
	ended := make([]*subscription, 0, len(r.subs))
	for s := range r.subs {
		delete(r.subs, s)
		s.end(err)
		ended = append(ended, s)
	}
	return ended
}
