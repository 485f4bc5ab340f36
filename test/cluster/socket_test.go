package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/chatd/chatd/test/harness"
)

// subscriber is one client's view of a session over WebSockets: it applies
// frames the way the contract tells clients to (harness.ReplyTracker: seq
// order, old seqs ignored, deltas in index order, ends equal to the text
// built), may move from process to process with last_seq, and keeps what a
// test asserts on. It is used by one goroutine at a time.
type subscriber struct {
	u   *user
	sid string
	p   *chatd // the process of the current socket
	ws  *harness.WS
	rt  *harness.ReplyTracker

	events  []seqEvent        // every sequenced frame received, in order
	ends    map[string]ending // message id -> the event that ended it
	signals []harness.Frame   // typing and presence frames
	closes  []closing         // sockets the server closed
	history []string          // what happened, for failure messages
	ignored map[int64]int     // seqs received again, and how often
	// consumed counts, per "type user_id", the signals a test has looked at.
	consumed map[string]int
}

// seqEvent is a sequenced frame as received.
type seqEvent struct {
	Seq  int64
	Type string
	Via  string // the process whose socket delivered it
}

func (e seqEvent) String() string { return fmt.Sprintf("%s:%d:%s", e.Via, e.Seq, e.Type) }

// ending is the event that gave a message its final status.
type ending struct {
	Type, Status, Content string
	Built                 string // the text the client had built from deltas when the event came
	Known                 bool   // the client knew the message before its end
	Seq                   int64
	Via                   string // the process whose socket delivered it
}

// closing is a socket the server ended.
type closing struct {
	Process  string
	Code     int
	Err      error
	Draining bool // the test was stopping that process on purpose
}

// subscribe opens a socket for u on session sid through p, asking for a
// snapshot, and applies the snapshot.
func (u *user) subscribe(p *chatd, sid string) *subscriber {
	u.t.Helper()
	s := &subscriber{u: u, sid: sid, rt: harness.NewReplyTracker(-1), ends: map[string]ending{}, ignored: map[int64]int{}, consumed: map[string]int{}}
	if err := s.connect(p, nil); err != nil {
		u.t.Fatal(err)
	}
	f, err := s.ws.Next(harness.WSTimeout)
	if err != nil {
		u.t.Fatalf("%s: no first frame: %v", s, err)
	}
	if f.Type != "session.snapshot" {
		u.t.Fatalf("%s: first frame %s (seq %d), want session.snapshot", s, f.Type, f.Seq)
	}
	if err := s.apply(f); err != nil {
		u.t.Fatal(err)
	}
	return s
}

func (s *subscriber) String() string {
	where := "nowhere"
	if s.p != nil {
		where = s.p.name
	}
	return fmt.Sprintf("the socket of %s on %s (session %s)", s.u.name, where, s.sid)
}

// connect dials p; lastSeq nil asks for a snapshot.
func (s *subscriber) connect(p *chatd, lastSeq *int64) error {
	srv := &harness.Server{URL: p.URL}
	ws, resp, err := srv.DialWS(s.u.t, s.sid, harness.WSOptions{Token: s.u.token, LastSeq: lastSeq})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			return fmt.Errorf("WebSocket of %s to %s: %w (status %d: %.300s)", s.u.name, p.name, err, status, body)
		}
		return fmt.Errorf("WebSocket of %s to %s: %w", s.u.name, p.name, err)
	}
	if s.ws != nil {
		s.ws.Drop()
	}
	s.p, s.ws = p, ws
	how := "a snapshot"
	if lastSeq != nil {
		how = fmt.Sprintf("last_seq=%d", *lastSeq)
	}
	s.note("connected to %s with %s", p.name, how)
	return nil
}

// resumeOn drops the current socket and reconnects through p with the last
// seq applied, as the contract tells a client to.
func (s *subscriber) resumeOn(p *chatd) error {
	last := s.rt.LastSeq
	return s.connect(p, &last)
}

// drop ends the current socket without a close frame: a lost network.
func (s *subscriber) drop() {
	if s.ws != nil {
		s.ws.Drop()
		s.note("dropped the socket on %s", s.p.name)
	}
}

func (s *subscriber) note(format string, args ...any) {
	if len(s.history) < 200 {
		s.history = append(s.history, fmt.Sprintf(format, args...))
	}
}

// step reads and applies one frame. It returns the frame, or
// harness.ErrWSTimeout, or an *errClosed saying how the socket ended (also
// recorded in closes), or a protocol problem: a frame a correct server
// never sends.
func (s *subscriber) step(timeout time.Duration) (harness.Frame, error) {
	f, err := s.ws.Next(timeout)
	if err != nil {
		if errors.Is(err, harness.ErrWSTimeout) {
			return f, err
		}
		c := closing{Process: s.p.name, Code: harness.CloseCode(err), Err: err, Draining: s.p.draining.Load()}
		s.closes = append(s.closes, c)
		s.note("socket on %s ended: %v (code %d)", s.p.name, err, c.Code)
		return f, &errClosed{err}
	}
	return f, s.apply(f)
}

// errClosed wraps a socket's end in until's answer.
type errClosed struct{ err error }

func (e *errClosed) Error() string { return "the socket ended: " + e.err.Error() }
func (e *errClosed) Unwrap() error { return e.err }

// until applies frames until cond holds, the socket ends, a frame breaks
// the protocol or timeout passes; the error says which, with what was seen.
func (s *subscriber) until(timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("%s: %s: not within %v; %s", s, what, timeout, s.summary())
		}
		if _, err := s.step(left); err != nil {
			if errors.Is(err, harness.ErrWSTimeout) {
				continue
			}
			return fmt.Errorf("%s: %s: %w; %s", s, what, err, s.summary())
		}
	}
	return nil
}

// untilEnded applies frames until the message has ended.
func (s *subscriber) untilEnded(id string, timeout time.Duration) error {
	return s.until(timeout, "waiting for the end of message "+id, func() bool {
		_, ok := s.ends[id]
		return ok
	})
}

// summary says what the subscriber saw, for failure messages.
func (s *subscriber) summary() string {
	var seqs []string
	for i, e := range s.events {
		if len(s.events) > 30 && i == 10 {
			seqs = append(seqs, "…")
		}
		if len(s.events) <= 30 || i < 10 || i >= len(s.events)-19 {
			seqs = append(seqs, e.String())
		}
	}
	hist := s.history
	if len(hist) > 12 {
		hist = hist[len(hist)-12:]
	}
	return fmt.Sprintf("last applied seq %d, %d snapshots, seqs received [%s], history [%s]",
		s.rt.LastSeq, s.rt.Snapshots, strings.Join(seqs, " "), strings.Join(hist, "; "))
}

// finalStatuses are the statuses a message keeps.
var finalStatuses = map[string]bool{"completed": true, "failed": true, "cancelled": true, "interrupted": true}

// apply applies one frame and records what the test asserts on.
func (s *subscriber) apply(f harness.Frame) error {
	switch {
	case f.Type == "typing" || f.Type == "presence":
		s.signals = append(s.signals, f)
		return nil
	case f.Seq == 0:
		if f.Type == "session.snapshot" {
			s.note("snapshot on %s: %.200s", s.p.name, f.Data)
		}
		if _, err := s.rt.Apply(f); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
		return nil
	}
	s.events = append(s.events, seqEvent{Seq: f.Seq, Type: f.Type, Via: s.p.name})
	if f.Seq <= s.rt.LastSeq {
		s.ignored[f.Seq]++
		s.rt.Ignored++
		return nil
	}
	if f.Seq != s.rt.LastSeq+1 {
		return fmt.Errorf("seq gap: last applied %d, then %s seq %d (%.200s)",
			s.rt.LastSeq, f.Type, f.Seq, f.Data)
	}
	var m struct {
		ID      string `json:"id"`
		Status  string `json:"status"`
		Content string `json:"content"`
	}
	if strings.HasPrefix(f.Type, "message.") && f.Type != "message.delta" && f.Type != "message.deleted" {
		if err := json.Unmarshal(f.Data, &m); err != nil {
			return fmt.Errorf("%s seq %d: data %.300s: %w", f.Type, f.Seq, f.Data, err)
		}
	}
	if m.ID != "" && finalStatuses[m.Status] {
		tm := s.rt.Messages[m.ID]
		e := ending{Type: f.Type, Status: m.Status, Content: m.Content, Seq: f.Seq, Via: s.p.name, Known: tm != nil}
		if tm != nil {
			e.Built = tm.Text
		}
		if _, seen := s.ends[m.ID]; !seen {
			s.ends[m.ID] = e
		}
		if m.Status == "interrupted" {
			// The tracker checks that an end carries the text the deltas
			// built; an interrupted reply carries what was stored, which may
			// be less (a crash loses up to a second). The client takes the
			// stored text; the test compares Built and Content itself.
			if tm == nil {
				tm = &harness.TrackedMessage{ID: m.ID, Role: "assistant"}
				s.rt.Messages[m.ID] = tm
				s.rt.Order = append(s.rt.Order, m.ID)
			}
			tm.Ended, tm.Final, tm.Status, tm.Text = true, m.Content, m.Status, m.Content
			s.rt.LastSeq = f.Seq
			s.rt.Applied++
			return nil
		}
	}
	if _, err := s.rt.Apply(f); err != nil {
		return fmt.Errorf("%s seq %d: %w", f.Type, f.Seq, err)
	}
	return nil
}

// signalsOf lists the data of the typing or presence frames received about
// userID, in order.
func (s *subscriber) signalsOf(typ, userID string) []map[string]any {
	var out []map[string]any
	for _, f := range s.signals {
		if f.Type != typ {
			continue
		}
		var d map[string]any
		if json.Unmarshal(f.Data, &d) == nil && d["user_id"] == userID {
			out = append(out, d)
		}
	}
	return out
}

// untilEndedResuming is untilEnded for a client that reconnects with
// last_seq, to the process where names, whenever the server ends its
// socket (a broker outage may close sockets with 1013).
func (s *subscriber) untilEndedResuming(id string, timeout time.Duration, where func() *chatd) error {
	deadline := time.Now().Add(timeout)
	for {
		err := s.untilEnded(id, time.Until(deadline))
		var closed *errClosed
		if err == nil || !errors.As(err, &closed) {
			return err
		}
		for {
			p := where()
			rerr := s.resumeOn(p)
			if rerr == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: could not resume after %w: %w", s, err, rerr)
			}
			time.Sleep(100 * time.Millisecond) // pacing between attempts
		}
	}
}
