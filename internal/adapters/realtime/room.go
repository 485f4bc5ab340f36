package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/adapters/wire"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

type requestKind uint8

const (
	requestJoin requestKind = iota
	requestLeave
	requestResume
	requestTyping
)

type request struct {
	kind    requestKind
	sock    *socket
	lastSeq int64
	typing  bool
}

// roomBuffer holds a room's events between pump turns. The pump only
// encodes and queues, so it keeps up unless the machine is starved; if it
// falls behind all the same, its sockets are closed with 4008 and resume.
const roomBuffer = 8192

// room is one chat session's sockets, served by one goroutine that owns all
// of the room's state: the order of events, joins and resumes is the order
// the pump handles them in, so a joining socket never misses or doubles an
// event between its replay and the live stream.
type room struct {
	id       string
	rs       *rooms
	members  int // guarded by rs.mu
	requests chan request
	quit     chan struct{}

	sockets    map[*socket]struct{}
	perUser    map[string]int       // open sockets per user, for presence
	typing     map[string]time.Time // users typing, until when
	budgets    map[string]*typingBudget
	catching   *time.Ticker // runs only while some socket is catching up
	catchingUp map[*socket]struct{}
	delivered  int64 // seq of the last event written to the sockets
}

func newRoom(id string, rs *rooms) *room {
	return &room{
		id: id, rs: rs, requests: make(chan request, 64), quit: make(chan struct{}),
		sockets: map[*socket]struct{}{}, perUser: map[string]int{}, typing: map[string]time.Time{},
		budgets: map[string]*typingBudget{}, catchingUp: map[*socket]struct{}{},
	}
}

func (r *room) pump() {
	sub, res, err := r.rs.events.Subscribe(context.Background(), r.id, -1, roomBuffer)
	if err != nil {
		r.rs.log.Warn("room cannot subscribe", zap.String("session_id", r.id), zap.Error(err))
		r.subscriptionEnded(err)
		return
	}
	defer sub.Close()
	r.delivered = res.LastSeq
	typingTick := time.NewTicker(time.Second)
	defer typingTick.Stop()
	for {
		select {
		case e, ok := <-sub.Events():
			if !ok {
				r.subscriptionEnded(sub.Err())
				return
			}
			if r.deliver(e) {
				r.drainUntilQuit(closeSessionDeleted, "the session was deleted")
				return
			}
		case req := <-r.requests:
			r.handle(req)
		case now := <-typingTick.C:
			r.expireTyping(now)
		case <-r.pacing():
			for s := range r.catchingUp {
				r.catchUp(s)
			}
		case <-r.quit:
			// The last leave is queued before quit closes, and select may
			// see quit first: handle what is queued (its presence change).
			for {
				select {
				case req := <-r.requests:
					r.handle(req)
				default:
					return
				}
			}
		}
	}
}

// deliver writes one event to the room; it reports whether the room ended.
func (r *room) deliver(e domain.SessionEvent) bool {
	if e.Seq > 0 {
		r.delivered = e.Seq
	}
	switch e.Type {
	case domain.EventParticipantRemoved:
		for s := range r.sockets {
			if s.userID == e.Removed.UserID {
				s.closeWith(closeNotParticipant, "you are no longer a participant of this session")
			}
		}
		return false
	case domain.EventTyping:
		r.broadcastExcept(e, e.Typing.UserID)
		return false
	}
	r.broadcastExcept(e, "")
	if e.Type == domain.EventSessionDeleted {
		r.rs.retire(r)
		for s := range r.sockets {
			s.closeWith(closeSessionDeleted, "the session was deleted")
		}
		return true
	}
	return false
}

// broadcastExcept encodes the event once and queues it on every socket
// except those of the given user.
func (r *room) broadcastExcept(e domain.SessionEvent, userID string) {
	frame, err := wire.EncodeEvent(e)
	if err != nil {
		r.rs.log.Error("encode event", zap.String("type", string(e.Type)), zap.Error(err))
		return
	}
	for s := range r.sockets {
		if userID == "" || s.userID != userID {
			r.deliverTo(s, frame)
		}
	}
}

// deliverTo sends a live frame, or queues it behind a replay still being
// paced out, so the socket's frames stay in seq order. A socket whose send
// queue is full is behind, not lost: its frames wait in its backlog and are
// paced out as its queue drains (catchUp), the same frames in the same
// order. A burst faster than the network (a reply streamed to a thousand
// sockets on two cores) then costs a reader some delay, not its socket.
// Only a socket that falls backlogFactor send queues behind is closed (4008).
func (r *room) deliverTo(s *socket, frame []byte) {
	if len(s.backlog) == 0 {
		if s.pending.Load() < s.limit {
			s.send(frame, r.rs.metrics)
			return
		}
		r.catchingUp[s] = struct{}{}
	}
	if len(s.backlog) >= int(s.limit)*backlogFactor {
		s.backlog = nil
		delete(r.catchingUp, s)
		r.rs.metrics.slowClosed.Inc()
		s.closeWith(closeSlowConsumer, "slow consumer: resume with last_seq")
		return
	}
	s.backlog = append(s.backlog, frame)
}

// backlogFactor bounds the frames a socket may owe beyond its send queue,
// in send queues (128 x CHAT_WS_SEND_BUFFER, 8192 frames by default). The
// frames are shared with the room's other sockets; a backlog holds only
// references to them.
const backlogFactor = 128

// catchUp paces out a backlog (a replay, or live frames a slow reader fell
// behind on): it queues frames only while the socket's send queue is at
// most half full; the rest waits for the next pacing tick.
func (r *room) catchUp(s *socket) {
	n := 0
	for n < len(s.backlog) && s.pending.Load() < s.limit/2 {
		if !s.send(s.backlog[n], r.rs.metrics) {
			break
		}
		n++
	}
	s.backlog = s.backlog[n:]
	if len(s.backlog) == 0 {
		s.backlog = nil
		delete(r.catchingUp, s)
		return
	}
	r.catchingUp[s] = struct{}{}
}

func (r *room) handle(req request) {
	switch req.kind {
	case requestJoin:
		r.sockets[req.sock] = struct{}{}
		// Counted before the socket's first frame: a client that has its
		// snapshot is online everywhere, whatever it does next.
		if r.perUser[req.sock.userID]++; r.perUser[req.sock.userID] == 1 {
			r.announcePresence(req.sock.userID, true)
		}
		r.start(req.sock, req.lastSeq)
	case requestLeave:
		if _, ok := r.sockets[req.sock]; !ok {
			return
		}
		delete(r.sockets, req.sock)
		delete(r.catchingUp, req.sock)
		if r.perUser[req.sock.userID]--; r.perUser[req.sock.userID] == 0 {
			delete(r.perUser, req.sock.userID)
			delete(r.budgets, req.sock.userID)
			r.stopTyping(req.sock.userID)
			r.announcePresence(req.sock.userID, false)
		}
	case requestResume:
		if _, ok := r.sockets[req.sock]; ok {
			r.start(req.sock, req.lastSeq)
		}
	case requestTyping:
		if !r.typingAllowed(req.sock.userID, time.Now()) {
			return // over the user's budget: dropped, best-effort by contract
		}
		if req.typing {
			_, already := r.typing[req.sock.userID]
			r.typing[req.sock.userID] = time.Now().Add(r.rs.cfg.TypingTTL)
			if !already {
				r.signalTyping(req.sock.userID, true)
			}
		} else {
			r.stopTyping(req.sock.userID)
		}
	}
}

// start brings a socket up to the room's position: the events after lastSeq
// when the replay window still has them all, otherwise a snapshot.
func (r *room) start(s *socket, lastSeq int64) {
	if lastSeq >= 0 {
		res, err := r.rs.events.Replay(context.Background(), r.id, lastSeq)
		if err != nil {
			s.closeWith(closeTryAgain, "live updates are not available right now: reconnect with last_seq")
			return
		}
		if res.Complete {
			for _, e := range res.Backlog {
				if e.Seq > r.delivered {
					break // the live stream brings it
				}
				if frame, err := wire.EncodeEvent(e); err == nil {
					s.backlog = append(s.backlog, frame)
				}
			}
			r.catchUp(s)
			return
		}
	}
	last, streaming, err := r.rs.snaps(context.Background(), r.id)
	if err != nil {
		s.closeWith(closeTryAgain, "live updates are not available right now: reconnect with last_seq")
		return
	}
	frame, err := json.Marshal(wire.SnapshotFrame(r.id, last, streaming))
	if err != nil {
		r.rs.log.Error("encode snapshot", zap.Error(err))
		return
	}
	s.send(frame, r.rs.metrics)
}

// pacing ticks every few milliseconds while a replay is being paced out,
// and never otherwise.
func (r *room) pacing() <-chan time.Time {
	if len(r.catchingUp) == 0 {
		if r.catching != nil {
			r.catching.Stop()
			r.catching = nil
		}
		return nil
	}
	if r.catching == nil {
		r.catching = time.NewTicker(5 * time.Millisecond)
	}
	return r.catching.C
}

// typingAllowed spends from the user's budget across all their sockets, so
// opening more sockets does not multiply what reaches the others.
func (r *room) typingAllowed(userID string, now time.Time) bool {
	b := r.budgets[userID]
	if b == nil {
		b = &typingBudget{}
		r.budgets[userID] = b
	}
	return b.allow(r.rs.cfg.TypingPerSecond, now)
}

func (r *room) signal(e domain.SessionEvent) {
	e.SessionID = r.id
	if err := r.rs.events.Signal(context.Background(), e); err != nil {
		r.rs.log.Debug("signal not delivered", zap.String("session_id", r.id), zap.Error(err))
	}
}

// announcePresence tells the session that a user's first socket on this
// process opened (online) or their last one closed, when that is their
// first or last anywhere in the service. Presence is best-effort: when the
// service-wide count cannot be read, the change is announced anyway.
func (r *room) announcePresence(userID string, online bool) {
	ctx, cancel := context.WithTimeout(context.Background(), presenceTimeout)
	defer cancel()
	change, verb := r.rs.presence.Depart, "depart"
	if online {
		change, verb = r.rs.presence.Arrive, "arrive"
	}
	news, err := change(ctx, r.id, userID)
	if err != nil {
		r.rs.log.Warn("presence not counted", zap.String("session_id", r.id), zap.String("user_id", userID),
			zap.String("change", verb), zap.Error(err))
		news = true
	}
	if news {
		r.signal(domain.SessionEvent{Type: domain.EventPresence,
			Presence: &domain.PresenceSignal{UserID: userID, Online: online}})
	}
}

// presenceTimeout bounds a room's wait for the service-wide presence count,
// which holds the room's other work: a broker that does not answer costs
// this much, and the change is announced anyway.
const presenceTimeout = time.Second

func (r *room) signalTyping(userID string, isTyping bool) {
	r.signal(domain.SessionEvent{Type: domain.EventTyping, Typing: &domain.TypingSignal{UserID: userID, IsTyping: isTyping}})
}

func (r *room) stopTyping(userID string) {
	if _, ok := r.typing[userID]; ok {
		delete(r.typing, userID)
		r.signalTyping(userID, false)
	}
}

// expireTyping ends indicators that were not renewed: a client that vanished
// mid-sentence does not look like it is typing forever.
func (r *room) expireTyping(now time.Time) {
	for userID, until := range r.typing {
		if now.After(until) {
			r.stopTyping(userID)
		}
	}
}

// subscriptionEnded handles the bus ending the room's own subscription:
// the session was closed (deleted), or the pump fell behind.
func (r *room) subscriptionEnded(err error) {
	code, reason := closeSessionDeleted, "the session was deleted"
	switch {
	case errors.Is(err, ports.ErrSlowConsumer):
		code, reason = closeSlowConsumer, "the server fell behind: resume with last_seq"
	case err != nil:
		code, reason = closeTryAgain, "live updates are not available right now: reconnect with last_seq"
	}
	r.rs.retire(r)
	for s := range r.sockets {
		s.closeWith(code, reason)
	}
	r.drainUntilQuit(code, reason)
}

// drainUntilQuit serves a room that is over: its sockets are closing, and
// their leaves must not block until the last one is out. A socket that
// joined just before the room was retired is closed like the others, so
// its client reconnects to a fresh room instead of waiting on this one.
func (r *room) drainUntilQuit(code int, reason string) {
	for {
		select {
		case req := <-r.requests:
			if req.kind == requestJoin {
				req.sock.closeWith(code, reason)
			}
		case <-r.quit:
			return
		}
	}
}
