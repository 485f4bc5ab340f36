package realtime

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/websocket"

	"github.com/chatd/chatd/internal/adapters/httpapi"
	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
)

// Mount registers the WebSocket route; it authenticates itself, since
// browsers cannot set an Authorization header on a WebSocket.
func (h *Hub) Mount(g httpapi.RouteGroups) {
	g.Public.GET("/chat/sessions/:session_id/websocket", h.handshake)
}

// handshake answers every refusal before the upgrade, as problem+json:
// 400 malformed id or last_seq, 403 origin, 401 token, 404 not a participant.
func (h *Hub) handshake(c *gin.Context) {
	if err := h.admit(c); err != nil {
		_ = c.Error(err)
		c.Abort()
		return
	}
	// The response belongs to the WebSocket from here on.
	c.Abort()
}

func (h *Hub) admit(c *gin.Context) error {
	sessionID, ok := domain.ParseID(c.Param("session_id"))
	if !ok {
		return httpapi.BadRequest("malformed-id", "session_id must be a canonical lower-case UUID")
	}
	lastSeq := int64(-1)
	if raw, present := c.GetQuery("last_seq"); present {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 0 {
			return httpapi.BadRequest("bad-query-parameter", "last_seq must be a whole number of at least 0")
		}
		lastSeq = n
	}
	if !h.originAllowed(c.GetHeader("Origin"), c.Request.Host) {
		return domain.Forbidden("origin-not-allowed", "this origin may not open WebSockets here")
	}
	token, ok := socketToken(c)
	if !ok {
		return domain.Unauthenticated("missing-token",
			"send the access token as Authorization: Bearer, the subprotocol pair \"bearer, <token>\", or ?access_token=")
	}
	claims, err := h.tokens.VerifyAccess(token)
	if err != nil {
		return err
	}
	caller := app.Caller{UserID: claims.UserID, Role: claims.Role}
	if _, _, err := h.access.Session(c.Request.Context(), caller, sessionID); err != nil {
		return err
	}
	if !websocket.IsWebSocketUpgrade(c.Request) {
		return httpapi.BadRequest("not-a-websocket", "this route speaks WebSocket only: send an Upgrade request")
	}
	sock := &socket{userID: caller.UserID, sessionID: sessionID, lastSeq: lastSeq, limit: int32(h.cfg.SendBuffer)}
	// HandleRequestWithKeys runs the socket's read loop until it closes;
	// it runs on a goroutine of its own, and this handler returns once the
	// connection is hijacked. An idle socket then holds only melody's read
	// loop (our melody's writer runs only while frames are queued: see
	// melody/PATCH.md), not the HTTP server's deep goroutine with its
	// request, gin context and 4 KiB buffers.
	hijacked := make(chan struct{})
	ended := make(chan struct{})
	rec := connRecorder{ResponseWriter: c.Writer, sock: sock, hijacked: hijacked}
	go func() {
		defer close(ended)
		_ = h.melody.HandleRequestWithKeys(rec, c.Request, map[string]any{socketKey: sock})
	}()
	select {
	case <-hijacked:
	case <-ended: // the upgrade failed, and melody answered through c.Writer
	}
	return nil
}

// connRecorder keeps the hijacked connection on the socket (melody hides
// it, and a stop must be able to drop a client that will not read) and
// gives melody a batchConn over it.
type connRecorder struct {
	http.ResponseWriter
	sock     *socket
	hijacked chan struct{} // closed once the connection is the socket's
}

func (w connRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("the response cannot be hijacked")
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.sock.setConn(conn)
	close(w.hijacked)
	return &batchConn{Conn: conn, sock: w.sock}, rw, nil
}

// socketToken finds the access token in the header, the subprotocol list
// ("bearer, <token>", for browsers) or the query (redacted from logs: the
// access log never writes query strings).
func socketToken(c *gin.Context) (string, bool) {
	if scheme, token, found := strings.Cut(c.GetHeader("Authorization"), " "); found && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(token), strings.TrimSpace(token) != ""
	}
	protocols := websocket.Subprotocols(c.Request)
	for i, p := range protocols {
		if strings.EqualFold(p, "bearer") && i+1 < len(protocols) {
			return protocols[i+1], protocols[i+1] != ""
		}
	}
	if token := c.Query("access_token"); token != "" {
		return token, true
	}
	return "", false
}
