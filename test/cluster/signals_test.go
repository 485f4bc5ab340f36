package cluster

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chatd/chatd/test/harness"
)

// TestTypingAndPresenceAcrossProcesses: two users of one session, one on A,
// the other on C. Typing reaches the other user whichever process either is
// on, and presence follows the contract's rule across processes: a user is
// online from their first socket in the session to their last, wherever
// those sockets are.
func TestTypingAndPresenceAcrossProcesses(t *testing.T) {
	c := newCluster(t, nil, "A", "B", "C")
	a, b, cc := c.proc("A"), c.proc("B"), c.proc("C")
	owner := newUser(t, a, "olga")
	member := newUser(t, a, "mario")
	sid := owner.newSession(a, simModel(5, 0))
	owner.addMember(a, sid, member)

	onA := owner.subscribe(a, sid)
	onC := member.subscribe(cc, sid)

	t.Run("a socket opened on C makes its user online on A", func(t *testing.T) {
		d := waitSignal(t, onA, "presence", member.userID, 20*time.Second)
		if d["online"] != true {
			t.Fatalf("the first presence of %s on A is %v, want online true", member.name, d)
		}
	})

	t.Run("typing on A reaches C, typing on C reaches A", func(t *testing.T) {
		for _, step := range []struct {
			from, to *subscriber
			typist   *user
			frame    string
			want     bool
		}{
			{onA, onC, owner, "typing.start", true},
			{onA, onC, owner, "typing.stop", false},
			{onC, onA, member, "typing.start", true},
			{onC, onA, member, "typing.stop", false},
		} {
			if err := step.from.ws.SendType(step.frame, nil); err != nil {
				t.Fatalf("send %s on %s: %v", step.frame, step.from.p.name, err)
			}
			d := waitSignal(t, step.to, "typing", step.typist.userID, 20*time.Second)
			if d["is_typing"] != step.want {
				t.Fatalf("after %s from %s on %s, %s on %s got typing %v, want is_typing %v",
					step.frame, step.typist.name, step.from.p.name, step.to.u.name, step.to.p.name, d, step.want)
			}
		}
	})

	t.Run("presence counts a user's sockets on every process", func(t *testing.T) {
		onB := member.subscribe(b, sid)
		mark := len(onA.signals)
		onC.ws.Close()
		waitConnections(t, owner, cc, 0)
		// A marker from the member's socket on B: a presence C sent when its
		// socket closed was sent before it (as near as two processes allow).
		if err := onB.ws.SendType("typing.start", nil); err != nil {
			t.Fatalf("send typing.start on B: %v", err)
		}
		if err := onA.until(20*time.Second, "the marker typing from B", func() bool {
			for _, f := range onA.signals[mark:] {
				if f.Type == "typing" && frameData(f)["user_id"] == member.userID {
					return true
				}
			}
			return false
		}); err != nil {
			t.Fatal(err)
		}
		for _, f := range onA.signals[mark:] {
			if d := frameData(f); f.Type == "presence" && d["user_id"] == member.userID {
				t.Errorf("%s opened a second socket on B, then closed the first on C, and A was told %v: "+
					"a user is online from their first socket to their last, on whatever processes they are", member.name, d)
			}
		}
		onA.consumed["presence "+member.userID] = len(onA.signalsOf("presence", member.userID))
		onB.ws.Close()
		if d := waitSignal(t, onA, "presence", member.userID, 20*time.Second); d["online"] != false {
			t.Fatalf("after %s closed their last socket (on B), A got presence %v, want online false", member.name, d)
		}
	})
}

// waitSignal returns the next typing or presence frame about userID that
// the test has not looked at yet, applying frames until one comes.
func waitSignal(t *testing.T, s *subscriber, typ, userID string, timeout time.Duration) map[string]any {
	t.Helper()
	key := typ + " " + userID
	next := s.consumed[key]
	if err := s.until(timeout, fmt.Sprintf("a %s frame about user %s", typ, userID), func() bool {
		return len(s.signalsOf(typ, userID)) > next
	}); err != nil {
		t.Fatal(err)
	}
	s.consumed[key] = next + 1
	return s.signalsOf(typ, userID)[next]
}

// frameData decodes a frame's data as an object (nil when it is not one).
func frameData(f harness.Frame) map[string]any {
	var d map[string]any
	_ = json.Unmarshal(f.Data, &d)
	return d
}

// waitConnections polls p's /api/v1/chat/health until its
// active_connections (this process's sockets) is want.
func waitConnections(t *testing.T, u *user, p *chatd, want int) {
	t.Helper()
	if _, err := eventually(20*time.Second, func() (bool, string) {
		a, err := u.try(p, http.MethodGet, "/api/v1/chat/health", nil)
		if err != nil {
			return false, err.Error()
		}
		var h struct {
			Active *int `json:"active_connections"`
		}
		if json.Unmarshal(a.body, &h) != nil || h.Active == nil {
			return false, a.String()
		}
		return *h.Active == want, fmt.Sprintf("active_connections %d", *h.Active)
	}); err != nil {
		t.Fatalf("%s's active_connections did not become %d: %v", p.name, want, err)
	}
}
