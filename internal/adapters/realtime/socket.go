package realtime

import (
	"net"
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
	backlog   [][]byte // replay frames still to pace out; owned by the room's pump
	connMu    sync.Mutex
	conn      net.Conn // the hijacked connection, to drop a socket that will not read

	typingMu      sync.Mutex
	typing        typingBudget
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

func (s *socket) setConn(c net.Conn) {
	s.connMu.Lock()
	s.conn = c
	s.connMu.Unlock()
}

// drop closes the connection under melody, for a peer that does not read:
// its blocked write fails and melody cleans up.
func (s *socket) drop() {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if s.conn != nil {
		_ = s.conn.Close()
	}
}

// sent is melody's report that a text frame left.
func (s *socket) sent() { s.pending.Add(-1) }

// closeWith sends a close frame once; melody then ends the connection.
func (s *socket) closeWith(code int, reason string) {
	if s.closing.CompareAndSwap(false, true) {
		_ = s.ws.CloseWithMsg(closeFrame(code, reason))
	}
}

// allowTyping applies the socket's own bucket: it tells whether this frame
// passes and whether the sender floods (many dropped in a row), which closes
// the socket. The room applies a per-user budget on top.
func (s *socket) allowTyping(rate float64, now time.Time) (ok, flood bool) {
	s.typingMu.Lock()
	defer s.typingMu.Unlock()
	if s.typing.allow(rate, now) {
		s.typingDropped = 0
		return true, false
	}
	s.typingDropped++
	return false, s.typingDropped > floodTolerance
}

// floodTolerance is how many typing frames in a row may be dropped before
// the sender is treated as a flooder.
const floodTolerance = 50

// typingBudget is a token bucket: rate frames per second, bursts of twice that.
type typingBudget struct {
	tokens float64
	refill time.Time
}

func (b *typingBudget) allow(rate float64, now time.Time) bool {
	burst := 2 * rate
	if b.refill.IsZero() {
		b.tokens = burst
	} else {
		b.tokens = min(burst, b.tokens+now.Sub(b.refill).Seconds()*rate)
	}
	b.refill = now
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}
