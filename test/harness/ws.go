package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// WSAuth says where a WebSocket handshake carries the access token.
type WSAuth int

const (
	WSAuthHeader      WSAuth = iota // Authorization: Bearer <token>
	WSAuthSubprotocol               // Sec-WebSocket-Protocol: bearer, <token> (browsers)
	WSAuthQuery                     // ?access_token=<token>
	WSAuthNone                      // no token at all
)

// WSOptions shapes one handshake. The zero value sends the token in the
// Authorization header and asks for a snapshot (no last_seq).
type WSOptions struct {
	Token   string
	Auth    WSAuth
	LastSeq *int64            // ?last_seq=N
	Query   map[string]string // more (or raw, hostile) query parameters
	Header  http.Header       // more request headers, e.g. Origin
	// RecvBuffer, when > 0, sets the client's SO_RCVBUF before connecting, so
	// a client that stops reading makes the server's writes block soon.
	RecvBuffer int
}

// Seq is a last_seq for WSOptions.
func Seq(n int64) *int64 { return &n }

// WSTimeout is how long a test waits for one frame unless told otherwise:
// generous, since the race detector and a shared machine slow everything.
const WSTimeout = 20 * time.Second

// WSURL is the WebSocket address of a session with the given query.
func (s *Server) WSURL(sessionID string, query url.Values) string {
	u := "ws" + strings.TrimPrefix(s.URL, "http") + "/api/v1/chat/sessions/" + sessionID + "/websocket"
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u
}

// DialWS performs a handshake. On success the socket is closed when the test
// ends; on a refusal the answer (its body readable) and the error return.
func (s *Server) DialWS(t testing.TB, sessionID string, o WSOptions) (*WS, *http.Response, error) {
	t.Helper()
	q := url.Values{}
	if o.LastSeq != nil {
		q.Set("last_seq", strconv.FormatInt(*o.LastSeq, 10))
	}
	for k, v := range o.Query {
		q.Set(k, v)
	}
	header := http.Header{}
	for k, vs := range o.Header {
		for _, v := range vs {
			header.Add(k, v)
		}
	}
	dialer := &websocket.Dialer{HandshakeTimeout: WSTimeout}
	switch o.Auth {
	case WSAuthHeader:
		if o.Token != "" {
			header.Set("Authorization", "Bearer "+o.Token)
		}
	case WSAuthSubprotocol:
		dialer.Subprotocols = []string{"bearer", o.Token}
	case WSAuthQuery:
		q.Set("access_token", o.Token)
	case WSAuthNone:
	}
	if o.RecvBuffer > 0 {
		size := o.RecvBuffer
		nd := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, size)
			}); err != nil {
				return err
			}
			return serr
		}}
		dialer.NetDialContext = nd.DialContext
	}
	ctx, cancel := context.WithTimeout(context.Background(), WSTimeout)
	defer cancel()
	conn, resp, err := dialer.DialContext(ctx, s.WSURL(sessionID, q), header)
	if err != nil {
		return nil, resp, err
	}
	ws := &WS{t: t, Conn: conn, Response: resp, SessionID: sessionID, frames: make(chan wsRead, 4096), done: make(chan struct{})}
	t.Cleanup(ws.Drop)
	return ws, resp, nil
}

// WS dials the session as this client (token in the header unless o says
// otherwise) and fails the test unless the upgrade succeeds.
func (c *Client) WS(sessionID string, opts ...WSOptions) *WS {
	c.t.Helper()
	var o WSOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Token == "" && o.Auth != WSAuthNone {
		o.Token = c.Token
	}
	ws, resp, err := c.srv.DialWS(c.t, sessionID, o)
	if err != nil {
		status, body := 0, ""
		if resp != nil {
			status = resp.StatusCode
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			body = string(b)
		}
		c.t.Fatalf("WebSocket to session %s: %v (status %d, body %.400s)", sessionID, err, status, body)
	}
	return ws
}

// WSRefusal is a handshake the server answered without upgrading.
type WSRefusal struct {
	Status  int
	Header  http.Header
	Body    []byte
	Problem Problem
}

// DialWSRefused expects the server to refuse the handshake with status want
// and a problem+json body, and checks that answer against the OpenAPI document.
func (s *Server) DialWSRefused(t testing.TB, sessionID string, o WSOptions, want int) WSRefusal {
	t.Helper()
	ws, resp, err := s.DialWS(t, sessionID, o)
	if err == nil {
		ws.Drop()
		t.Fatalf("WebSocket to session %s with %+v: upgraded, want status %d", sessionID, o, want)
	}
	if resp == nil {
		t.Fatalf("WebSocket to session %s: %v without an HTTP answer, want status %d", sessionID, err, want)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	r := WSRefusal{Status: resp.StatusCode, Header: resp.Header, Body: body}
	if !errors.Is(err, websocket.ErrBadHandshake) {
		t.Fatalf("WebSocket to session %s: %v, want a refused handshake", sessionID, err)
	}
	if r.Status != want {
		t.Fatalf("WebSocket to session %s with %+v: status %d, want %d; body %.400s", sessionID, o, r.Status, want, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("WebSocket refusal %d: content type %q, want application/problem+json; body %.400s", r.Status, ct, body)
	}
	if resp.Header.Get("X-Request-ID") == "" {
		t.Errorf("WebSocket refusal %d: no X-Request-ID", r.Status)
	}
	if err := json.Unmarshal(body, &r.Problem); err != nil {
		t.Fatalf("WebSocket refusal %d: body %.400s is not a problem: %v", r.Status, body, err)
	}
	if p := r.Problem; p.Status != want || p.Type == "" || p.Title == "" || p.Detail == "" {
		t.Fatalf("WebSocket refusal %d: incomplete problem %+v", r.Status, p)
	}
	if resp.Request != nil {
		s.spec.Check(t, resp.Request, resp.StatusCode, resp.Header, body)
	}
	return r
}

// WS is one client WebSocket. A goroutine reads it from the first call to
// Next on (so a test can leave a socket unread on purpose); frames and the
// final error wait in a channel, so a timeout does not break the socket.
type WS struct {
	t         testing.TB
	Conn      *websocket.Conn
	Response  *http.Response
	SessionID string

	once     sync.Once
	frames   chan wsRead
	end      error // the error that ended reading, once seen
	wmu      sync.Mutex
	done     chan struct{}
	doneOnce sync.Once
}

type wsRead struct {
	frame Frame
	err   error
}

// ErrWSTimeout is Next's answer when no frame came in time.
var ErrWSTimeout = errors.New("no WebSocket frame in time")

func (w *WS) startReading() {
	w.once.Do(func() {
		go func() {
			defer close(w.frames)
			for {
				var r wsRead
				kind, raw, err := w.Conn.ReadMessage()
				switch {
				case err != nil:
					r.err = err
				case kind != websocket.TextMessage:
					r.err = fmt.Errorf("the server sent a frame of type %d (binary), not text: %.200q", kind, raw)
				default:
					if err := json.Unmarshal(raw, &r.frame); err != nil {
						r.err = fmt.Errorf("the server sent a frame that is not the envelope: %.300s: %w", raw, err)
					}
				}
				select {
				case w.frames <- r:
				case <-w.done:
					return
				}
				if r.err != nil {
					return
				}
			}
		}()
	})
}

// Next returns the next frame. The error is ErrWSTimeout when none came
// within timeout (the socket stays usable), or how reading ended: a
// *websocket.CloseError for a close (CloseCode reads its code).
func (w *WS) Next(timeout time.Duration) (Frame, error) {
	if w.end != nil {
		return Frame{}, w.end
	}
	w.startReading()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r, ok := <-w.frames:
		if !ok {
			if w.end == nil {
				w.end = net.ErrClosed
			}
			return Frame{}, w.end
		}
		if r.err != nil {
			w.end = r.err
			return Frame{}, r.err
		}
		return r.frame, nil
	case <-timer.C:
		return Frame{}, ErrWSTimeout
	}
}

// Expect returns the next frame, failing the test on a timeout or a close.
func (w *WS) Expect(timeout time.Duration) Frame {
	w.t.Helper()
	f, err := w.Next(timeout)
	if err != nil {
		w.t.Fatalf("WebSocket of session %s: waiting for a frame: %v", w.SessionID, err)
	}
	return f
}

// ExpectType reads the next frame and fails unless it has type typ.
func (w *WS) ExpectType(typ string, timeout time.Duration) Frame {
	w.t.Helper()
	f := w.Expect(timeout)
	if f.Type != typ {
		w.t.Fatalf("WebSocket of session %s: frame %s (seq %d, data %.300s), want %s", w.SessionID, f.Type, f.Seq, f.Data, typ)
	}
	return f
}

// Until reads frames until one satisfies stop and returns all of them, that
// one last. It fails the test when the socket ends or timeout passes first.
func (w *WS) Until(timeout time.Duration, stop func(Frame) bool) []Frame {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	var out []Frame
	for {
		f, err := w.Next(time.Until(deadline))
		if err != nil {
			w.t.Fatalf("WebSocket of session %s: %v after %d frames (last %s)", w.SessionID, err, len(out), lastFrame(out))
		}
		out = append(out, f)
		if stop(f) {
			return out
		}
	}
}

// UntilType reads frames until one of type typ and returns all of them.
func (w *WS) UntilType(typ string, timeout time.Duration) []Frame {
	w.t.Helper()
	return w.Until(timeout, func(f Frame) bool { return f.Type == typ })
}

// ExpectClose reads every frame still coming and expects the socket to be
// closed with code; it returns the frames read before the close.
func (w *WS) ExpectClose(code int, timeout time.Duration) []Frame {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	var out []Frame
	for {
		f, err := w.Next(time.Until(deadline))
		if err == nil {
			out = append(out, f)
			continue
		}
		if got := CloseCode(err); got != code {
			w.t.Fatalf("WebSocket of session %s: ended with %v (code %d) after %d frames (last %s), want close %d",
				w.SessionID, err, got, len(out), lastFrame(out), code)
		}
		return out
	}
}

// CloseCode is the close code of a read error: the code of a close frame,
// 1006 when the connection ended without one, 0 for a timeout or other error.
func CloseCode(err error) int {
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce):
		return ce.Code
	case errors.Is(err, ErrWSTimeout):
		return 0
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed), errors.Is(err, syscall.ECONNRESET):
		return websocket.CloseAbnormalClosure
	}
	return 0
}

func lastFrame(fs []Frame) string {
	if len(fs) == 0 {
		return "none"
	}
	f := fs[len(fs)-1]
	return fmt.Sprintf("%s seq %d %.200s", f.Type, f.Seq, f.Data)
}

// Send writes a JSON text frame; the error is returned, not fatal, since a
// socket being closed by the server is often what a test waits for.
func (w *WS) Send(v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return w.SendRaw(websocket.TextMessage, raw)
}

// SendRaw writes one frame of the given type (websocket.TextMessage,
// websocket.BinaryMessage) with any payload, valid or not.
func (w *WS) SendRaw(kind int, payload []byte) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	_ = w.Conn.SetWriteDeadline(time.Now().Add(WSTimeout))
	return w.Conn.WriteMessage(kind, payload)
}

// SendType writes {"type": typ} with data when given.
func (w *WS) SendType(typ string, data any) error {
	f := map[string]any{"type": typ}
	if data != nil {
		f["data"] = data
	}
	return w.Send(f)
}

// Close ends the socket politely (a 1000 close frame, then the connection).
func (w *WS) Close() {
	w.wmu.Lock()
	_ = w.Conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"), time.Now().Add(time.Second))
	w.wmu.Unlock()
	w.Drop()
}

// Drop ends the connection abruptly, without a close frame: a client that
// lost its network.
func (w *WS) Drop() {
	_ = w.Conn.Close()
	w.doneOnce.Do(func() { close(w.done) })
}

// Snapshot is session.snapshot's data.
type Snapshot struct {
	LastSeq   int64            `json:"last_seq"`
	Streaming []map[string]any `json:"streaming"`
}

// DecodeSnapshot decodes a session.snapshot frame.
func DecodeSnapshot(t testing.TB, f Frame) Snapshot {
	t.Helper()
	if f.Type != "session.snapshot" {
		t.Fatalf("frame %s (%.200s), want session.snapshot", f.Type, f.Data)
	}
	var s Snapshot
	if err := json.Unmarshal(f.Data, &s); err != nil || s.Streaming == nil {
		t.Fatalf("session.snapshot data %.300s: want {last_seq, streaming: [...]} (%v)", f.Data, err)
	}
	return s
}

// DataMap decodes a frame's data as a JSON object.
func (f Frame) DataMap(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(f.Data, &m); err != nil {
		t.Fatalf("frame %s: data %.300s is not an object: %v", f.Type, f.Data, err)
	}
	return m
}

// TrackedMessage is what a client knows of one message.
type TrackedMessage struct {
	ID     string
	Role   string
	Status string
	// Text is the content of message.created (or of the snapshot that listed
	// the message) followed by every delta applied since.
	Text string
	// NextIndex is the index the next delta must carry; -1 when unknown
	// (the message came from a snapshot, which does not count deltas).
	NextIndex int
	Deltas    int // deltas applied
	// Ended is set by message.completed, .failed or .cancelled; Final is the
	// content that event carried.
	Ended bool
	Final string
}

// ReplyTracker applies frames the way the contract tells clients to: events
// in seq order, any event whose seq is <= the last applied ignored, a
// snapshot setting the last applied seq to its last_seq and seeding the
// replies still streaming with their text so far. It rebuilds each message's
// text from deltas, and reports what a client could not apply: a seq gap,
// a delta out of order or for a message it never heard of, an end whose
// content differs from the text the deltas built.
type ReplyTracker struct {
	LastSeq   int64 // last applied seq; -1 before any snapshot or event
	Messages  map[string]*TrackedMessage
	Order     []string // message ids in the order the client learnt of them
	Snapshots int      // snapshots applied
	Applied   int      // sequenced events applied
	Ignored   int      // sequenced events ignored as already applied
	Deleted   bool     // session.deleted applied
	Session   map[string]any
	// Anomalies are frames that could be applied but contradict the
	// contract's letter, e.g. a snapshot listing as streaming a reply whose
	// status is already final.
	Anomalies []string
}

// NewReplyTracker starts a client that knows nothing; lastSeq >= 0 starts
// one that resumes after that seq.
func NewReplyTracker(lastSeq int64) *ReplyTracker {
	return &ReplyTracker{LastSeq: lastSeq, Messages: map[string]*TrackedMessage{}}
}

// GapError is a sequenced event that does not follow the last applied one.
type GapError struct{ LastApplied, Got int64 }

func (e *GapError) Error() string {
	return fmt.Sprintf("seq gap: last applied %d, then %d", e.LastApplied, e.Got)
}

// Text is a message's rebuilt text ("" when unknown).
func (rt *ReplyTracker) Text(id string) string {
	if m := rt.Messages[id]; m != nil {
		return m.Text
	}
	return ""
}

type wsMessage struct {
	ID      string `json:"id"`
	Role    string `json:"role"`
	Status  string `json:"status"`
	Content string `json:"content"`
}

func (rt *ReplyTracker) learn(m wsMessage, nextIndex int) *TrackedMessage {
	tm := rt.Messages[m.ID]
	if tm == nil {
		tm = &TrackedMessage{ID: m.ID}
		rt.Messages[m.ID] = tm
		rt.Order = append(rt.Order, m.ID)
	}
	tm.Role, tm.Status, tm.Text, tm.NextIndex, tm.Deltas = m.Role, m.Status, m.Content, nextIndex, 0
	tm.Ended, tm.Final = false, ""
	return tm
}

// Apply applies one frame. applied is false for a frame the rules ignore
// (an old seq) or that carries no session state (typing, presence, pong,
// error). A non-nil error is a frame a correct server never sends here; the
// frame is then not applied.
func (rt *ReplyTracker) Apply(f Frame) (applied bool, err error) {
	if f.Seq == 0 {
		if f.Type != "session.snapshot" {
			return false, nil
		}
		var s struct {
			LastSeq   *int64      `json:"last_seq"`
			Streaming []wsMessage `json:"streaming"`
		}
		if err := json.Unmarshal(f.Data, &s); err != nil {
			return false, fmt.Errorf("snapshot %.300s: %w", f.Data, err)
		}
		if s.LastSeq == nil || s.Streaming == nil {
			return false, fmt.Errorf("snapshot %.300s: want {last_seq, streaming: [...]}", f.Data)
		}
		rt.LastSeq = *s.LastSeq
		rt.Snapshots++
		for _, m := range s.Streaming {
			if m.Role != "assistant" {
				return false, fmt.Errorf("snapshot lists message %s (role %s) as streaming", m.ID, m.Role)
			}
			if m.Status != "pending" && m.Status != "streaming" {
				// The text still agrees with last_seq; the status runs ahead
				// of the events. Applied, and kept for the test to judge.
				rt.Anomalies = append(rt.Anomalies, fmt.Sprintf("snapshot at %d lists message %s as streaming with status %s",
					rt.LastSeq, m.ID, m.Status))
			}
			rt.learn(m, -1)
		}
		return true, nil
	}
	if rt.LastSeq < 0 {
		return false, fmt.Errorf("%s with seq %d before any snapshot", f.Type, f.Seq)
	}
	if f.Seq <= rt.LastSeq {
		rt.Ignored++
		return false, nil
	}
	if f.Seq != rt.LastSeq+1 {
		return false, &GapError{LastApplied: rt.LastSeq, Got: f.Seq}
	}
	if err := rt.event(f); err != nil {
		return false, fmt.Errorf("seq %d: %w", f.Seq, err)
	}
	rt.LastSeq = f.Seq
	rt.Applied++
	return true, nil
}

func (rt *ReplyTracker) event(f Frame) error {
	switch f.Type {
	case "message.created", "message.updated":
		m, err := decodeWSMessage(f)
		if err != nil {
			return err
		}
		if f.Type == "message.updated" && rt.Messages[m.ID] != nil {
			tm := rt.Messages[m.ID]
			tm.Text, tm.Status = m.Content, m.Status
			return nil
		}
		rt.learn(m, 0)
	case "message.delta":
		var d struct {
			MessageID string  `json:"message_id"`
			Delta     *string `json:"delta"`
			Index     *int    `json:"index"`
		}
		if err := json.Unmarshal(f.Data, &d); err != nil {
			return fmt.Errorf("message.delta data %.300s: %w", f.Data, err)
		}
		if d.Delta == nil || d.Index == nil {
			return fmt.Errorf("message.delta data %.300s: want {message_id, delta, index}", f.Data)
		}
		tm := rt.Messages[d.MessageID]
		if tm == nil {
			return fmt.Errorf("delta %d for message %s, which the client never heard of: its text so far is lost", *d.Index, d.MessageID)
		}
		if tm.Ended {
			return fmt.Errorf("delta %d for message %s after its end", *d.Index, d.MessageID)
		}
		if tm.NextIndex >= 0 && *d.Index != tm.NextIndex {
			return fmt.Errorf("delta index %d for message %s, want %d", *d.Index, d.MessageID, tm.NextIndex)
		}
		tm.Text += *d.Delta
		tm.NextIndex = *d.Index + 1
		tm.Deltas++
	case "message.completed", "message.failed", "message.cancelled":
		m, err := decodeWSMessage(f)
		if err != nil {
			return err
		}
		tm := rt.Messages[m.ID]
		if tm == nil {
			return fmt.Errorf("%s for message %s, which the client never heard of", f.Type, m.ID)
		}
		tm.Ended, tm.Final, tm.Status = true, m.Content, m.Status
		if tm.Text != m.Content {
			return fmt.Errorf("%s of %s carries %d bytes %q, but the deltas built %d bytes %q",
				f.Type, m.ID, len(m.Content), clip(m.Content), len(tm.Text), clip(tm.Text))
		}
	case "session.updated":
		if err := json.Unmarshal(f.Data, &rt.Session); err != nil {
			return fmt.Errorf("session.updated data %.300s: %w", f.Data, err)
		}
	case "session.deleted":
		rt.Deleted = true
	case "message.deleted":
		var d struct {
			DeletedIDs []string `json:"deleted_ids"`
		}
		if err := json.Unmarshal(f.Data, &d); err != nil {
			return fmt.Errorf("message.deleted data %.300s: %w", f.Data, err)
		}
		for _, id := range d.DeletedIDs {
			delete(rt.Messages, id)
		}
	default:
		return fmt.Errorf("unknown event type %q with a seq", f.Type)
	}
	return nil
}

func decodeWSMessage(f Frame) (wsMessage, error) {
	var m wsMessage
	if err := json.Unmarshal(f.Data, &m); err != nil {
		return m, fmt.Errorf("%s data %.300s: %w", f.Type, f.Data, err)
	}
	if m.ID == "" {
		return m, fmt.Errorf("%s data %.300s is not a message", f.Type, f.Data)
	}
	return m, nil
}

func clip(s string) string {
	if len(s) <= 120 {
		return s
	}
	return s[:60] + "..." + s[len(s)-60:]
}
