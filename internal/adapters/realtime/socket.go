package realtime

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/olahol/melody"
)

// socket is our state for one melody session.
type socket struct {
	ws        *melody.Session
	userID    string
	sessionID string
	lastSeq   int64 // from the handshake's ?last_seq; -1 asks for a snapshot
	room      *room
	limit     int32
	pending   atomic.Int32 // frames handed to melody and not yet written
	closing   atomic.Bool

	typingMu      sync.Mutex
	typingTokens  float64
	typingRefill  time.Time
	typingDropped int
}

const socketKey = "chatd.socket"

func socketOf(s *melody.Session) *socket {
	v, ok := s.Get(socketKey)
	if !ok {
		return nil
	}
	sock, _ := v.(*socket)
	return sock
}

// send queues a frame. melody would drop a frame silently when the queue is
// full (RELIABILITY.md, trap 2); we count what is queued ourselves and close
// the socket with 4008 while there is still room for the close frame, so a
// slow reader sees a gap it can resume from, never corrupted text.
func (s *socket) send(frame []byte, m *metrics) bool {
	if s.closing.Load() {
		return false
	}
	if s.pending.Add(1) > s.limit {
		s.pending.Add(-1)
		m.slowClosed.Inc()
		s.closeWith(closeSlowConsumer, "slow consumer: resume with last_seq")
		return false
	}
	if err := s.ws.Write(frame); err != nil {
		s.pending.Add(-1)
		return false
	}
	m.sent.Inc()
	return true
}

// sent is melody's report that a text frame left.
func (s *socket) sent() { s.pending.Add(-1) }

// closeWith sends a close frame once; melody then ends the connection.
func (s *socket) closeWith(code int, reason string) {
	if s.closing.CompareAndSwap(false, true) {
		_ = s.ws.CloseWithMsg(closeFrame(code, reason))
	}
}

// allowTyping is a token bucket: at most rate typing frames per second pass,
// with a burst of twice that. It reports whether this one passes and whether
// the user floods (many dropped in a row), which closes the socket.
func (s *socket) allowTyping(rate float64, now time.Time) (ok, flood bool) {
	s.typingMu.Lock()
	defer s.typingMu.Unlock()
	burst := 2 * rate
	if s.typingRefill.IsZero() {
		s.typingTokens = burst
	} else {
		s.typingTokens = min(burst, s.typingTokens+now.Sub(s.typingRefill).Seconds()*rate)
	}
	s.typingRefill = now
	if s.typingTokens >= 1 {
		s.typingTokens--
		s.typingDropped = 0
		return true, false
	}
	s.typingDropped++
	return false, s.typingDropped > floodTolerance
}

// floodTolerance is how many typing frames in a row may be dropped before
// the sender is treated as a flooder.
const floodTolerance = 50
