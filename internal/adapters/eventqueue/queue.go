// Package eventqueue is the buffer between a session's publisher and one
// subscriber, for the event adapters. A channel of the subscriber's buffer
// size would hold its whole capacity from the start: 8192 events of 96
// bytes, 786 KB for every open session, whether anything is queued or not.
// A Queue holds a small channel and keeps what does not fit in a slice that
// grows with the backlog and is let go when it drains.
package eventqueue

import (
	"sync"

	"github.com/chatd/chatd/internal/domain"
)

// direct is the channel's size: most subscribers keep up, and their events
// go straight through it.
const direct = 64

// Queue is safe for concurrent use. Push and End may be called under the
// caller's own locks: they never block.
type Queue struct {
	out  chan domain.SessionEvent
	stop chan struct{} // closed by Abandon: the reader is gone

	mu      sync.Mutex
	pending []domain.SessionEvent // events not yet in out, oldest first
	max     int                   // events held (out and pending) before Push refuses
	pumping bool                  // a goroutine moves pending into out
	ended   bool
	err     error // why it ended; nil for a plain close
}

// New returns a queue that holds up to max events.
func New(max int) *Queue {
	return &Queue{out: make(chan domain.SessionEvent, min(max, direct)), stop: make(chan struct{}), max: max}
}

// C is what the subscriber reads; it is closed after End, once every event
// queued before End is in it.
func (q *Queue) C() <-chan domain.SessionEvent { return q.out }

// Push queues e after the events queued before it. It reports false, and
// queues nothing, when the queue already holds max events: the subscriber
// is too slow, and the caller ends it.
func (q *Queue) Push(e domain.SessionEvent) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ended {
		return true
	}
	if !q.pumping {
		select {
		case q.out <- e:
			return true
		default:
		}
	}
	if len(q.out)+len(q.pending) >= q.max {
		return false
	}
	q.pending = append(q.pending, e)
	if !q.pumping {
		q.pumping = true
		go q.pump()
	}
	return true
}

// pump moves pending events into out, in order, until none is left (or
// the reader is gone).
func (q *Queue) pump() {
	for {
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.pending = nil // let a burst's backing array go
			q.pumping = false
			if q.ended {
				close(q.out)
			}
			q.mu.Unlock()
			return
		}
		// The event stays in pending until it is in out, so Push counts it.
		e := q.pending[0]
		q.mu.Unlock()
		select {
		case q.out <- e:
			q.mu.Lock()
			q.pending[0] = domain.SessionEvent{}
			q.pending = q.pending[1:]
			q.mu.Unlock()
		case <-q.stop:
			q.mu.Lock()
			q.pending, q.pumping = nil, false
			close(q.out)
			q.mu.Unlock()
			return
		}
	}
}

// End closes C once the events queued so far are in it, with err as the
// reason Err reports; later pushes are ignored, and later ends change
// nothing.
func (q *Queue) End(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ended {
		return
	}
	q.ended, q.err = true, err
	if !q.pumping {
		close(q.out)
	}
}

// Err is why the queue ended (nil while it runs or after a plain close).
func (q *Queue) Err() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.err
}

// Abandon ends the queue for a reader that will read no more: pending
// events are dropped, so nothing waits on it.
func (q *Queue) Abandon() {
	q.End(nil)
	q.mu.Lock()
	defer q.mu.Unlock()
	select {
	case <-q.stop:
	default:
		close(q.stop)
	}
}
