package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// The peer of issue 10's fan-out and idle-memory targets: Centrifugo v6,
// driven through its own public protocols. Clients speak its JSON protocol
// over WebSocket (/connection/websocket): a connect command (anonymous, no
// token: the config allows it), a subscribe command, then pushes; several
// replies may share one WebSocket message, one per line, and an empty
// object is the server's ping, answered with an empty object. Publications
// go through the server HTTP API (/api/batch or /api/publish, X-API-Key).
//
// Each publication's data is the exact JSON frame chatd sends for the same
// event (message.delta, then message.completed with the whole text), so the
// bytes per delivery are comparable and the subscribers check them with the
// same code as chatd's: the text must continue byte for byte with indexes
// 0, 1, 2... and seqs +1, and the final frame must carry the whole text.

// peerFlags are the flags of the peer scenarios.
type peerFlags struct {
	url    string
	apiKey string
}

func (p *peerFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.url, "centrifugo", "http://127.0.0.1:8000", "Centrifugo's root URL (the client endpoint is /connection/websocket, the server API /api)")
	fs.StringVar(&p.apiKey, "api-key", "", "Centrifugo's HTTP API key (http_api.key in its config)")
}

// centrifugo is one Centrifugo server as the load generator uses it.
type centrifugo struct {
	base   string // http://host:port
	apiKey string
	http   *http.Client
	dialer *websocket.Dialer
}

func newCentrifugo(base, apiKey string, readBuf int, hc *http.Client) *centrifugo {
	return &centrifugo{
		base:   strings.TrimRight(base, "/"),
		apiKey: apiKey,
		http:   hc,
		dialer: &websocket.Dialer{
			NetDialContext:   (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			HandshakeTimeout: 30 * time.Second,
			ReadBufferSize:   readBuf,
			WriteBufferSize:  256,
			WriteBufferPool:  &sync.Pool{},
		},
	}
}

// cfError is an error in a Centrifugo reply (client or server API).
type cfError struct {
	Code    uint32 `json:"code"`
	Message string `json:"message"`
}

func (e *cfError) Error() string { return fmt.Sprintf("centrifugo error %d: %s", e.Code, e.Message) }

// cfReply is one line the server sends a client: a reply to a command (id
// > 0) or a push.
type cfReply struct {
	ID    uint32   `json:"id"`
	Error *cfError `json:"error"`
	Push  *struct {
		Channel string `json:"channel"`
		Pub     *struct {
			Data json.RawMessage `json:"data"`
		} `json:"pub"`
		Disconnect *struct {
			Code   uint32 `json:"code"`
			Reason string `json:"reason"`
		} `json:"disconnect"`
		Unsubscribe *struct {
			Code   uint32 `json:"code"`
			Reason string `json:"reason"`
		} `json:"unsubscribe"`
	} `json:"push"`
}

// errPeerDisconnect is a disconnect or unsubscribe push.
type errPeerDisconnect struct {
	what   string
	code   uint32
	reason string
}

func (e *errPeerDisconnect) Error() string {
	return fmt.Sprintf("centrifugo %s push: code %d (%s)", e.what, e.code, e.reason)
}

// cfConn is one client connection: it reads WebSocket messages into a
// reused buffer, answers pings, and hands every published event frame to the
// caller. Only its reading goroutine writes to the socket (the pongs);
// closeSocket's control frame may be written concurrently (gorilla allows it).
type cfConn struct {
	conn   *websocket.Conn
	buf    []byte
	parser frameParser
	pings  int
}

// open dials the client endpoint, connects anonymously and subscribes to
// channel (both commands in one message; the server runs them in order), and
// returns once both replies arrived.
func (c *centrifugo) open(ctx context.Context, channel string) (*cfConn, error) {
	conn, resp, err := c.dialer.DialContext(ctx, "ws"+strings.TrimPrefix(c.base, "http")+"/connection/websocket", nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	cc := &cfConn{conn: conn}
	cmds := fmt.Sprintf(`{"id":1,"connect":{"name":"chatload"}}`+"\n"+`{"id":2,"subscribe":{"channel":%q}}`, channel)
	if err := conn.WriteMessage(websocket.TextMessage, []byte(cmds)); err != nil {
		_ = conn.Close()
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetReadDeadline(deadline)
	replied := map[uint32]bool{}
	for !replied[1] || !replied[2] {
		err := cc.next(func(*frame) error { return nil }, func(r *cfReply) error {
			if r.Error != nil {
				return fmt.Errorf("command %d: %w", r.ID, r.Error)
			}
			replied[r.ID] = true
			return nil
		})
		if err != nil {
			_ = conn.Close()
			return nil, err
		}
	}
	_ = conn.SetReadDeadline(time.Time{})
	return cc, nil
}

// readMessage reads one WebSocket message into buf (grown as needed).
func readMessage(conn *websocket.Conn, buf []byte) ([]byte, error) {
	_, rd, err := conn.NextReader()
	if err != nil {
		return buf, err
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

var (
	cfPing     = []byte("{}")
	keyPushPub = []byte(`"pub":`)
)

// next reads one WebSocket message and handles each line of it: a ping is
// answered, a publication's frame goes to onFrame, a reply to a command to
// onReply (nil: ignored); a disconnect or unsubscribe push ends the read
// with an error.
func (c *cfConn) next(onFrame func(*frame) error, onReply func(*cfReply) error) error {
	var err error
	c.buf, err = readMessage(c.conn, c.buf)
	if err != nil {
		return err
	}
	payload := c.buf
	for len(payload) > 0 {
		line, rest, _ := bytes.Cut(payload, []byte("\n"))
		payload = rest
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if err := c.line(line, onFrame, onReply); err != nil {
			return err
		}
	}
	return nil
}

func (c *cfConn) line(line []byte, onFrame func(*frame) error, onReply func(*cfReply) error) error {
	if bytes.Equal(line, cfPing) {
		c.pings++
		return c.conn.WriteMessage(websocket.TextMessage, cfPing)
	}
	// The hot path: a published delta, read by its keys without decoding
	// the push (the keys occur only in the data, chatd's frame).
	if bytes.Contains(line, deltaMarker) && bytes.Contains(line, keyPushPub) {
		ok, err := c.parser.fastDelta(line)
		if err != nil {
			return err
		}
		if ok {
			return onFrame(&c.parser.f)
		}
	}
	var r cfReply
	if err := json.Unmarshal(line, &r); err != nil {
		return fmt.Errorf("centrifugo reply: %w: %.120s", err, line)
	}
	switch {
	case r.Push != nil && r.Push.Pub != nil:
		if err := c.parser.slow(r.Push.Pub.Data); err != nil {
			return err
		}
		return onFrame(&c.parser.f)
	case r.Push != nil && r.Push.Disconnect != nil:
		return &errPeerDisconnect{what: "disconnect", code: r.Push.Disconnect.Code, reason: r.Push.Disconnect.Reason}
	case r.Push != nil && r.Push.Unsubscribe != nil:
		return &errPeerDisconnect{what: "unsubscribe", code: r.Push.Unsubscribe.Code, reason: r.Push.Unsubscribe.Reason}
	case r.Push != nil:
		return nil // join, leave, message...: not used here
	case onReply != nil:
		return onReply(&r)
	}
	return nil
}

// peerCloseCode is the code a read error carries: a WebSocket close code or
// a disconnect push's code (0: neither).
func peerCloseCode(err error) int {
	var d *errPeerDisconnect
	if errors.As(err, &d) {
		return int(d.code)
	}
	return closeCode(err)
}

// apiCall posts a server API method's body and checks the answer for errors,
// its own and (for a batch) each command's.
func (c *centrifugo) apiCall(ctx context.Context, method string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/"+method, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", c.apiKey)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /api/%s: %d %.200s", method, resp.StatusCode, b)
	}
	var out struct {
		Error   *cfError `json:"error"`
		Replies []struct {
			Error *cfError `json:"error"`
		} `json:"replies"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("POST /api/%s: %w: %.200s", method, err, b)
	}
	if out.Error != nil {
		return fmt.Errorf("POST /api/%s: %w", method, out.Error)
	}
	for i, r := range out.Replies {
		if r.Error != nil {
			return fmt.Errorf("POST /api/%s: command %d: %w", method, i, r.Error)
		}
	}
	return nil
}

// publishBodies renders the publications as server API request bodies: one
// /api/batch body per perBatch publications (sequential: the server runs a
// batch's commands in order), or one /api/publish body each when perBatch
// is 1. It returns the method and the bodies.
func publishBodies(channel string, frames [][]byte, perBatch int) (string, [][]byte) {
	ch, _ := json.Marshal(channel)
	if perBatch <= 1 {
		bodies := make([][]byte, len(frames))
		for i, f := range frames {
			bodies[i] = fmt.Appendf(nil, `{"channel":%s,"data":%s}`, ch, f)
		}
		return "publish", bodies
	}
	var bodies [][]byte
	for start := 0; start < len(frames); start += perBatch {
		var b bytes.Buffer
		b.WriteString(`{"commands":[`)
		for i, f := range frames[start:min(start+perBatch, len(frames))] {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"publish":{"channel":%s,"data":%s}}`, ch, f)
		}
		b.WriteString(`],"parallel":false}`)
		bodies = append(bodies, b.Bytes())
	}
	return "batch", bodies
}

// replyFrames are the frames chatd would send for a reply of these tokens:
// one message.delta per token (seq 1, 2, ...) and the message.completed with
// the whole text.
func replyFrames(sessionID, messageID string, tokens []string) [][]byte {
	type delta struct {
		MessageID string `json:"message_id"`
		Delta     string `json:"delta"`
		Index     int    `json:"index"`
	}
	type final struct {
		ID      string `json:"id"`
		Role    string `json:"role"`
		Status  string `json:"status"`
		Content string `json:"content"`
	}
	type envelope struct {
		Type      string `json:"type"`
		SessionID string `json:"session_id"`
		Seq       int64  `json:"seq"`
		Data      any    `json:"data"`
	}
	frames := make([][]byte, 0, len(tokens)+1)
	for i, t := range tokens {
		b, _ := json.Marshal(envelope{Type: typeDelta, SessionID: sessionID, Seq: int64(i + 1),
			Data: delta{MessageID: messageID, Delta: t, Index: i}})
		frames = append(frames, b)
	}
	b, _ := json.Marshal(envelope{Type: typeCompleted, SessionID: sessionID, Seq: int64(len(tokens) + 1),
		Data: final{ID: messageID, Role: "assistant", Status: "completed", Content: strings.Join(tokens, "")}})
	return append(frames, b)
}
