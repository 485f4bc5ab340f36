package realtime

import (
	"context"
	"sync"

	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// snapshotFunc tells where a session stands: its last seq and the replies
// generating, with their text up to that seq (the app's Generator.Snapshot).
type snapshotFunc func(ctx context.Context, sessionID string) (lastSeq int64, streaming []domain.MessageSnapshot, err error)

// rooms indexes chat sessions to their sockets. A room lives while it has
// sockets; its lifetime is decided under the registry lock so a join never
// reaches a room that is ending.
type rooms struct {
	mu       sync.Mutex
	byID     map[string]*room
	events   ports.SessionEvents
	presence ports.Presence
	snaps    snapshotFunc
	cfg      Config
	metrics  *metrics
	log      *zap.Logger
	wg       sync.WaitGroup
}

func newRooms(events ports.SessionEvents, presence ports.Presence, snaps snapshotFunc, cfg Config, m *metrics, log *zap.Logger) *rooms {
	return &rooms{byID: map[string]*room{}, events: events, presence: presence, snaps: snaps, cfg: cfg, metrics: m, log: log}
}

// join adds a socket to its session's room, creating the room if needed,
// and starts it with a replay after lastSeq or a snapshot (lastSeq < 0).
func (rs *rooms) join(sessionID string, s *socket, lastSeq int64) {
	rs.mu.Lock()
	r := rs.byID[sessionID]
	if r == nil {
		r = newRoom(sessionID, rs)
		rs.byID[sessionID] = r
		rs.wg.Add(1)
		go func() {
			defer rs.wg.Done()
			r.pump()
		}()
	}
	r.members++
	s.room = r
	rs.mu.Unlock()
	r.requests <- request{kind: requestJoin, sock: s, lastSeq: lastSeq}
}

// leave removes a closed socket; the last one out ends the room.
func (rs *rooms) leave(s *socket) {
	r := s.room
	if r == nil {
		return
	}
	rs.mu.Lock()
	r.members--
	last := r.members == 0
	if last && rs.byID[r.id] == r {
		delete(rs.byID, r.id)
	}
	rs.mu.Unlock()
	r.requests <- request{kind: requestLeave, sock: s}
	if last {
		close(r.quit)
	}
}

// retire takes an ended room out of the index, so the next join (a client
// reconnecting at once) opens a fresh room with a subscription of its own
// instead of joining one whose subscription is gone.
func (rs *rooms) retire(r *room) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.byID[r.id] == r {
		delete(rs.byID, r.id)
	}
}

// resume replays to one socket what it missed, or sends it a snapshot.
func (rs *rooms) resume(s *socket, lastSeq int64) {
	if r := s.room; r != nil {
		select {
		case r.requests <- request{kind: requestResume, sock: s, lastSeq: lastSeq}:
		case <-r.quit:
		}
	}
}

// typing relays a participant's typing state through the session's events.
func (rs *rooms) typing(s *socket, isTyping bool) {
	if r := s.room; r != nil {
		select {
		case r.requests <- request{kind: requestTyping, sock: s, typing: isTyping}:
		case <-r.quit:
		}
	}
}

// count is how many rooms are open.
func (rs *rooms) count() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return len(rs.byID)
}
