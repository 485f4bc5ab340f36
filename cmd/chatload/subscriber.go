package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// subscriber is one WebSocket of a session, following the replies posted
// to it: every delta is checked against the expected text as it arrives.
type subscriber struct {
	conn *websocket.Conn
	r    *wsReader
	seq  seqCheck
	proc int // index of the chatd process it is connected to

	// expect returns the expected text of a reply the first time one of its
	// events is seen (nil: not a reply this run follows).
	expect func(replyID string) *string
	// onFirst and onEnd observe a reply's first delta and its end.
	onFirst func(replyID string, at time.Time)
	onEnd   func(replyID string, c *replyCheck)

	mu        sync.Mutex
	replies   map[string]*replyCheck
	first     time.Time // first delta of any reply
	last      time.Time // last delta of any reply
	closeCode int
	readErr   error
}

// openSubscribers dials n sockets to a session (par at a time), spread
// round-robin over the chatd processes of ws (socket i on ws[procOf(i)]),
// and reads each one's first frame, which must be its session.snapshot.
func openSubscribers(ctx context.Context, ws []*wsClient, token, sessionID string, n, par int,
	setup func(i int, s *subscriber)) ([]*subscriber, error) {
	subs := make([]*subscriber, n)
	err := forEach(ctx, n, par, func(ctx context.Context, i int) error {
		proc := procOf(i, len(ws))
		conn, err := ws[proc].dial(ctx, token, sessionID)
		if err != nil {
			return fmt.Errorf("socket %d (process %d): %w", i, proc+1, err)
		}
		s := &subscriber{conn: conn, r: newWSReader(conn), seq: newSeqCheck(), proc: proc, replies: map[string]*replyCheck{}}
		subs[i] = s
		setup(i, s)
		snapshot := false
		if err := s.r.next(func(f *frame) error {
			snapshot = snapshot || f.typ == typeSnapshot
			s.seq.see(f)
			return nil
		}); err != nil {
			return fmt.Errorf("socket %d: first frame: %w", i, err)
		}
		if !snapshot {
			return fmt.Errorf("socket %d: the first frame was not a session.snapshot", i)
		}
		return nil
	})
	if err != nil {
		closeSubscribers(subs)
		return nil, err
	}
	return subs, nil
}

// run reads until the socket ends.
func (s *subscriber) run() {
	for {
		err := s.r.next(s.handle)
		if err != nil {
			s.mu.Lock()
			s.closeCode, s.readErr = closeCode(err), err
			s.mu.Unlock()
			return
		}
	}
}

func (s *subscriber) handle(f *frame) error {
	s.seq.see(f)
	switch {
	case f.typ == typeDelta:
		now := time.Now()
		c := s.reply(f.messageID)
		if c == nil {
			return nil
		}
		s.mu.Lock()
		if s.first.IsZero() {
			s.first = now
		}
		s.last = now
		s.mu.Unlock()
		if c.deltas == 0 && s.onFirst != nil {
			s.onFirst(string(f.messageID), now)
		}
		c.delta(f.index, f.delta)
	case f.isFinal():
		if c := s.reply(f.messageID); c != nil {
			c.end(f)
			if s.onEnd != nil {
				s.onEnd(string(f.messageID), c)
			}
		}
	}
	return nil
}

// reply finds or starts the check of a reply; nil for replies not followed.
func (s *subscriber) reply(id []byte) *replyCheck {
	if c, ok := s.replies[string(id)]; ok {
		return c
	}
	exp := s.expect(string(id))
	if exp == nil {
		s.replies[string(id)] = nil
		return nil
	}
	c := newReplyCheck(*exp)
	s.replies[string(id)] = c
	return c
}

// closed reports how the socket ended (0: still open or closed by us).
func (s *subscriber) closed() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeCode, s.readErr
}

func (s *subscriber) window() (first, last time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first, s.last
}

func closeSubscribers(subs []*subscriber) {
	_ = forEach(context.Background(), len(subs), 64, func(_ context.Context, i int) error {
		if subs[i] != nil {
			closeSocket(subs[i].conn)
		}
		return nil
	})
}
