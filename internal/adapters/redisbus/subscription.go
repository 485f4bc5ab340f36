package redisbus

import (
	"github.com/chatd/chatd/internal/adapters/eventqueue"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// subscription's queue is pushed to and ended only under its room's lock.
type subscription struct {
	bus  *Bus
	room *room
	from int64 // the subscriber's Resume holds the events up to this seq
	q    *eventqueue.Queue
}

var _ ports.Subscription = (*subscription)(nil)

func (s *subscription) Events() <-chan domain.SessionEvent { return s.q.C() }

func (s *subscription) Err() error { return s.q.Err() }

// Close ends the subscription (Err stays as it was if it had ended). The
// last local subscriber of a session unsubscribes this process from it.
func (s *subscription) Close() {
	r := s.room
	r.mu.Lock()
	_, live := r.subs[s]
	if live {
		delete(r.subs, s)
		s.end(nil)
	}
	r.mu.Unlock()
	s.q.Abandon() // what the reader will not read
	if live {
		s.bus.release(r)
	}
}

// end is called with the room's lock held; only the first end counts.
func (s *subscription) end(err error) { s.q.End(err) }
