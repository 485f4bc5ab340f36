package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// wsClient dials session WebSockets.
type wsClient struct {
	dialer *websocket.Dialer
	base   string // ws://host:port
}

// newWSClient makes a dialer; readBuf is the per-socket read buffer (small
// for thousands of idle sockets, larger for throughput).
func newWSClient(chatdBase string, readBuf int) *wsClient {
	return &wsClient{
		dialer: &websocket.Dialer{
			NetDialContext:   (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			HandshakeTimeout: 30 * time.Second,
			ReadBufferSize:   readBuf,
			WriteBufferSize:  256,
			WriteBufferPool:  &sync.Pool{},
		},
		base: "ws" + strings.TrimPrefix(chatdBase, "http"),
	}
}

// newWSClients makes one dialer per chatd process.
func newWSClients(chatdBases []string, readBuf int) []*wsClient {
	ws := make([]*wsClient, len(chatdBases))
	for i, b := range chatdBases {
		ws[i] = newWSClient(b, readBuf)
	}
	return ws
}

// dial opens a session's WebSocket with the token in the Authorization header.
func (c *wsClient) dial(ctx context.Context, token, sessionID string) (*websocket.Conn, error) {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+token)
	conn, resp, err := c.dialer.DialContext(ctx, c.base+"/api/v1/chat/sessions/"+sessionID+"/websocket", h)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	return conn, err
}

// wsReader reads a socket's frames into one reused buffer.
type wsReader struct {
	conn   *websocket.Conn
	buf    []byte
	parser frameParser
}

func newWSReader(conn *websocket.Conn) *wsReader { return &wsReader{conn: conn} }

// next reads one WebSocket message and calls fn for each frame in it.
func (r *wsReader) next(fn func(*frame) error) error {
	_, rd, err := r.conn.NextReader()
	if err != nil {
		return err
	}
	r.buf = r.buf[:0]
	for {
		if len(r.buf) == cap(r.buf) {
			r.buf = append(r.buf, 0)[:len(r.buf)]
		}
		n, err := rd.Read(r.buf[len(r.buf):cap(r.buf)])
		r.buf = r.buf[:len(r.buf)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	return r.parser.parse(r.buf, fn)
}

// closeCode is the close code a read error carries (0: not a close frame).
func closeCode(err error) int {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}

// closeSocket says goodbye and closes.
func closeSocket(conn *websocket.Conn) {
	_ = conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	_ = conn.Close()
}
