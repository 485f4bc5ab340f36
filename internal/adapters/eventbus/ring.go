package eventbus

import (
	"time"

	"github.com/chatd/chatd/internal/domain"
)

type stamped struct {
	event domain.SessionEvent
	at    time.Time
}

// window holds a session's newest events, at most size of them. Dropping
// from the front reslices; append reallocates now and then and leaves the
// dropped prefix behind, so memory stays within about twice the size.
type window struct {
	size   int
	events []stamped
}

func newWindow(size int) window { return window{size: size} }

func (w *window) push(e stamped) {
	w.events = append(w.events, e)
	if len(w.events) > w.size {
		w.events[0] = stamped{}
		w.events = w.events[1:]
	}
}

func (w *window) dropOlderThan(cutoff time.Time) {
	i := 0
	for i < len(w.events) && w.events[i].at.Before(cutoff) {
		w.events[i] = stamped{}
		i++
	}
	w.events = w.events[i:]
}

// after returns the events with a seq above seq, and false when some of them
// are no longer in the window.
func (w *window) after(seq int64) ([]domain.SessionEvent, bool) {
	if len(w.events) == 0 || w.events[0].event.Seq > seq+1 {
		return nil, false
	}
	var out []domain.SessionEvent
	for _, s := range w.events {
		if s.event.Seq > seq {
			out = append(out, s.event)
		}
	}
	return out, true
}
