package llmsim

import (
	"context"
	"sync"
)

// recorder keeps what tests observe. Its lock is taken once at the start and
// once at the end of a request, never per token.
type recorder struct {
	mu        sync.Mutex
	requests  []Request
	active    int
	cancelled int
	changed   chan struct{} // closed and replaced whenever active or cancelled changes
}

func (r *recorder) init() { r.changed = make(chan struct{}) }

func (r *recorder) begin(req *Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if req != nil {
		r.requests = append(r.requests, *req)
	}
	r.active++
	r.notifyLocked()
}

func (r *recorder) end(cancelled bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.active--
	if cancelled {
		r.cancelled++
	}
	r.notifyLocked()
}

func (r *recorder) notifyLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// wait blocks until cond holds (checked under the lock) or ctx is done.
func (r *recorder) wait(ctx context.Context, cond func(r *recorder) bool) error {
	for {
		r.mu.Lock()
		ok, ch := cond(r), r.changed
		r.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Requests returns every completion request received, in arrival order,
// including ones the simulator refused (then only Body and Header may be set).
func (s *Server) Requests() []Request {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	return append([]Request(nil), s.rec.requests...)
}

// Active is the number of completion requests in flight.
func (s *Server) Active() int {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	return s.rec.active
}

// Cancelled counts completion requests whose client went away before the
// response reached its end ([DONE], a status answer, or a deliberate fault
// ending such as eof or reset). A stalled stream the client abandons counts.
func (s *Server) Cancelled() int {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	return s.rec.cancelled
}

// WaitIdle blocks until no completion request is in flight or ctx is done.
func (s *Server) WaitIdle(ctx context.Context) error {
	return s.rec.wait(ctx, func(r *recorder) bool { return r.active == 0 })
}

// WaitCancelled blocks until Cancelled reaches n or ctx is done.
func (s *Server) WaitCancelled(ctx context.Context, n int) error {
	return s.rec.wait(ctx, func(r *recorder) bool { return r.cancelled >= n })
}

// Reset forgets the recorded requests and the cancelled count.
func (s *Server) Reset() {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	s.rec.requests = nil
	s.rec.cancelled = 0
	s.rec.notifyLocked()
}
