package realtime

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/olahol/melody"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/ports"
)

// Hub owns every WebSocket of the process.
type Hub struct {
	cfg     Config
	melody  *melody.Melody
	rooms   *rooms
	tokens  ports.TokenIssuer
	access  *app.Access
	metrics *metrics
	log     *zap.Logger
	active  atomic.Int64
}

// NewHub configures melody against its traps (RELIABILITY.md 1-6): an origin
// allow-list, a deliberate frame limit, our own room index, nothing slow in
// the read loop, and no silent drops.
func NewHub(cfg Config, tokens ports.TokenIssuer, access *app.Access, gen *app.Generator, events ports.SessionEvents,
	presence ports.Presence, reg prometheus.Registerer, log *zap.Logger,
) *Hub {
	cfg = cfg.withDefaults()
	log = log.Named("realtime")
	h := &Hub{cfg: cfg, tokens: tokens, access: access, log: log}
	h.metrics = newMetrics(reg,
		func() float64 { return float64(h.active.Load()) },
		func() float64 { return float64(h.rooms.count()) })
	h.rooms = newRooms(events, presence, gen.Snapshot, cfg, h.metrics, log)

	m := melody.New()
	m.Config.MaxMessageSize = cfg.MaxFrameBytes
	// melody's queue must outlast ours by one slot, for the close frame.
	m.Config.MessageBufferSize = cfg.SendBuffer + 1
	m.Config.PingPeriod = cfg.PingPeriod
	m.Config.PongWait = cfg.PongWait
	m.Config.WriteWait = cfg.WriteWait
	m.Upgrader.CheckOrigin = func(r *http.Request) bool { return h.originAllowed(r.Header.Get("Origin"), r.Host) }
	m.Upgrader.Subprotocols = []string{"bearer"}
	// Idle sockets should cost little memory: small read buffers, and write
	// buffers borrowed from a pool only while a frame is written.
	m.Upgrader.ReadBufferSize = 256
	m.Upgrader.WriteBufferSize = 2048
	m.Upgrader.WriteBufferPool = &sync.Pool{}

	m.HandleConnect(h.onConnect)
	m.HandleDisconnect(h.onDisconnect)
	m.HandleSentMessage(func(s *melody.Session, _ []byte) {
		if sock := socketOf(s); sock != nil {
			sock.sent()
		}
	})
	m.HandleMessage(func(s *melody.Session, msg []byte) {
		if sock := socketOf(s); sock != nil {
			h.onMessage(sock, msg)
		}
	})
	m.HandleMessageBinary(func(s *melody.Session, _ []byte) {
		if sock := socketOf(s); sock != nil {
			sock.closeWith(websocket.CloseUnsupportedData, "binary frames are not accepted")
		}
	})
	m.HandleError(func(s *melody.Session, err error) {
		if !websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived) {
			log.Debug("socket error", zap.Error(err))
		}
	})
	h.melody = m
	return h
}

// ActiveConnections is how many sockets are open.
func (h *Hub) ActiveConnections() int { return int(h.active.Load()) }

// originAllowed admits clients that send no Origin (not browsers), pages
// served by chatd itself (the Origin names the host the request came to: the
// web page at /, which must work with CHAT_CORS_ORIGINS empty), and the
// allowed origins.
func (h *Hub) originAllowed(origin, host string) bool {
	return origin == "" || sameOrigin(origin, host) || slices.Contains(h.cfg.AllowedOrigins, origin)
}

// sameOrigin is gorilla/websocket's default check: the Origin's host equals
// the request's Host.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && strings.EqualFold(u.Host, host)
}

func (h *Hub) onConnect(s *melody.Session) {
	sock := socketOf(s)
	if sock == nil {
		_ = s.Close()
		return
	}
	sock.ws = s
	// melody keeps the upgrade request for the socket's whole life, and
	// nothing reads it: every header and the query (a token, perhaps) were
	// about a kilobyte of each idle socket.
	s.Request = nil
	h.active.Add(1)
	h.metrics.opened.Inc()
	h.rooms.join(sock.sessionID, sock, sock.lastSeq)
}

func (h *Hub) onDisconnect(s *melody.Session) {
	if sock := socketOf(s); sock != nil && sock.ws != nil {
		h.rooms.leave(sock)
		h.active.Add(-1)
	}
}

// Stop closes every socket with 1001 so clients reconnect elsewhere, waits
// briefly for them to go, then drops the rest.
//
// melody's own CloseWithMsg ends its hub while sockets may still be leaving,
// and a leaving socket then blocks forever on the hub; so we close our
// sockets one by one and end the hub only once none is left. A socket that
// does not read is dropped after a short grace.
func (h *Hub) Stop(ctx context.Context) error {
	sessions, err := h.melody.Sessions()
	if err != nil {
		return nil // already closed
	}
	for _, s := range sessions {
		if sock := socketOf(s); sock != nil {
			sock.closeWith(websocket.CloseGoingAway, "server shutting down")
		} else {
			_ = s.CloseWithMsg(closeFrame(websocket.CloseGoingAway, "server shutting down"))
		}
	}
	// Well-behaved clients answer the close at once; after a grace, drop
	// the connections of those that do not read.
	grace := time.NewTimer(stopGrace)
	defer grace.Stop()
	deadline := time.NewTimer(stopGrace + 2*time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for h.active.Load() > 0 || h.melody.Len() > 0 {
		select {
		case <-tick.C:
		case <-grace.C:
			for _, s := range sessions {
				if sock := socketOf(s); sock != nil {
					sock.drop()
				}
			}
		case <-deadline.C:
			h.log.Warn("sockets still open after the drain", zap.Int64("open", h.active.Load()))
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return h.melody.Close()
}

// stopGrace is how long a stop waits for clients to answer the 1001 close.
const stopGrace = time.Second
