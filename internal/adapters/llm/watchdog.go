package llm

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// watchdog enforces the first-token and idle timeouts of one streaming
// request by cancelling its context with a *timeoutError cause: cancelling
// is what unblocks a body read stuck on a silent connection, and it closes
// the request, which is what stops generation upstream.
//
// Until the first delta, the first-token timeout runs from the start of the
// request, whatever bytes arrive: OpenRouter sends keep-alive comments while
// a model is queued, and a model that never starts must still time out.
// After it, any bytes read reset the idle timeout, keep-alive comments
// included: they prove that the upstream is alive and still working on the
// reply (the total timeout bounds a reply that is alive but endless).
//
// The per-read cost is one atomic store; the timer is re-armed only when it
// fires, not per chunk.
type watchdog struct {
	start      time.Time
	firstToken time.Duration
	idle       time.Duration
	cancel     context.CancelCauseFunc
	last       atomic.Int64 // when bytes last arrived, as time since start

	mu       sync.Mutex
	timer    *time.Timer
	streamed bool // the first delta arrived
	stopped  bool
}

func startWatchdog(cancel context.CancelCauseFunc, firstToken, idle time.Duration) *watchdog {
	w := &watchdog{start: time.Now(), firstToken: firstToken, idle: idle, cancel: cancel}
	w.mu.Lock()
	w.timer = time.AfterFunc(firstToken, w.check)
	w.mu.Unlock()
	return w
}

// touch records that bytes arrived.
func (w *watchdog) touch() { w.last.Store(int64(time.Since(w.start))) }

// streaming switches from the first-token to the idle timeout.
func (w *watchdog) streaming() {
	w.touch()
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.streamed && !w.stopped {
		w.streamed = true
		w.timer.Reset(w.idle)
	}
}

// stop disarms the watchdog; once it returns, it cancels nothing.
func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	w.timer.Stop()
}

// check runs when the timer fires: it cancels if a limit passed, else
// re-arms for the time left.
func (w *watchdog) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	now := time.Since(w.start)
	if !w.streamed {
		if now >= w.firstToken {
			w.cancel(&timeoutError{kind: timeoutFirstToken, after: w.firstToken})
			return
		}
		w.timer.Reset(w.firstToken - now)
		return
	}
	deadline := time.Duration(w.last.Load()) + w.idle
	if now >= deadline {
		w.cancel(&timeoutError{kind: timeoutIdle, after: w.idle})
		return
	}
	w.timer.Reset(deadline - now)
}

// activityReader tells the watchdog about every read that brought bytes.
// Reads are capped: net/http's chunked reader keeps one large Read going
// across chunks while bytes trickle in, which would look like silence.
type activityReader struct {
	r io.Reader
	w *watchdog
}

// maxActivityRead bounds one read so a slow but steady stream touches the
// watchdog often; a token chunk is a few hundred bytes.
const maxActivityRead = 512

func (a activityReader) Read(p []byte) (int, error) {
	if len(p) > maxActivityRead {
		p = p[:maxActivityRead]
	}
	n, err := a.r.Read(p)
	if n > 0 {
		a.w.touch()
	}
	return n, err
}
