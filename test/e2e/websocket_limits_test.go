package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatd/chatd/internal/llmsim"
	"github.com/chatd/chatd/test/harness"
)

// wsSignal reports frames that are best-effort signals, not answers.
func wsSignal(f harness.Frame) bool { return f.Type == "presence" || f.Type == "typing" }

// wsAnswer reads past signals to the next other frame.
func wsAnswer(t testing.TB, ws *harness.WS) harness.Frame {
	t.Helper()
	for {
		if f := ws.Expect(harness.WSTimeout); !wsSignal(f) {
			return f
		}
	}
}

// wsPingPong checks that the socket still answers.
func wsPingPong(t testing.TB, ws *harness.WS) {
	t.Helper()
	if err := ws.SendType("ping", nil); err != nil {
		t.Fatalf("send ping: %v", err)
	}
	if f := wsAnswer(t, ws); f.Type != "pong" || f.SessionID != ws.SessionID || f.Seq != 0 {
		t.Fatalf("answer to ping: %s seq %d session %q %.200s, want pong", f.Type, f.Seq, f.SessionID, f.Data)
	}
}

// wsMarker publishes an event (a message without reply) and reads ws up to
// it; it returns the frames read before it.
func wsMarker(t testing.TB, c *harness.Client, ws *harness.WS, sid string) []harness.Frame {
	t.Helper()
	m := e2ePost(t, c, sid, "marker")
	frames := ws.Until(harness.WSTimeout, func(f harness.Frame) bool {
		return f.Type == "message.created" && bytes.Contains(f.Data, []byte(m["id"].(string)))
	})
	return frames[:len(frames)-1]
}

func TestWebSocketInboundFrames(t *testing.T) {
	srv := wsStart(t, wsConfig(t, harness.SQLite))
	owner := srv.NewUser(t)
	sid := wsSession(t, owner, wsModel())
	watcher := owner.WS(sid)
	watcher.ExpectType("session.snapshot", harness.WSTimeout)
	open := func(t *testing.T) *harness.WS {
		ws := e2eAs(t, srv, owner).WS(sid)
		ws.ExpectType("session.snapshot", harness.WSTimeout)
		return ws
	}
	// stillWorks checks that the server and the other socket carry on.
	stillWorks := func(t *testing.T) {
		t.Helper()
		wsMarker(t, owner, watcher, sid)
		wsPingPong(t, watcher)
	}
	errorFrame := func(t *testing.T, ws *harness.WS, code string) {
		t.Helper()
		f := wsAnswer(t, ws)
		d := f.DataMap(t)
		if f.Type != "error" || f.Seq != 0 || d["code"] != code || d["detail"] == "" {
			t.Fatalf("answer: %s seq %d %v, want an error frame with code %s and a detail", f.Type, f.Seq, d, code)
		}
	}

	t.Run("ping answers pong", func(t *testing.T) {
		ws := open(t)
		wsPingPong(t, ws)
		if err := ws.Send(map[string]any{"type": "ping", "data": map[string]any{"anything": 1}}); err != nil {
			t.Fatal(err)
		}
		if f := wsAnswer(t, ws); f.Type != "pong" {
			t.Fatalf("ping with data: %s", f.Type)
		}
	})
	t.Run("an unknown type is an error frame and the socket stays open", func(t *testing.T) {
		ws := open(t)
		for _, typ := range []string{"dance", "message.delta", "PING", strings.Repeat("x", 5000)} {
			if err := ws.SendType(typ, nil); err != nil {
				t.Fatal(err)
			}
			errorFrame(t, ws, "unknown-type")
		}
		wsPingPong(t, ws)
	})
	t.Run("malformed frames are error frames and the socket stays open", func(t *testing.T) {
		ws := open(t)
		for _, raw := range []string{`{not json`, `[]`, `"ping"`, `{}`, `{"type":7}`, `{"type":""}`, `null`, ``} {
			if err := ws.SendRaw(websocket.TextMessage, []byte(raw)); err != nil {
				t.Fatal(err)
			}
			errorFrame(t, ws, "malformed-frame")
		}
		for _, data := range []any{nil, map[string]any{}, map[string]any{"last_seq": -1}, map[string]any{"last_seq": "3"}, []int{1}} {
			if err := ws.Send(map[string]any{"type": "resume", "data": data}); err != nil {
				t.Fatal(err)
			}
			errorFrame(t, ws, "malformed-frame")
		}
		wsPingPong(t, ws)
		stillWorks(t)
	})
	t.Run("a frame of exactly 64 KiB is read", func(t *testing.T) {
		ws := open(t)
		head, tail := `{"type":"ping","data":{"pad":"`, `"}}`
		frame := head + strings.Repeat("a", 64<<10-len(head)-len(tail)) + tail
		if err := ws.SendRaw(websocket.TextMessage, []byte(frame)); err != nil {
			t.Fatal(err)
		}
		if f := wsAnswer(t, ws); f.Type != "pong" {
			t.Fatalf("64 KiB ping answered %s", f.Type)
		}
	})
	for _, c := range []struct {
		name    string
		kind    int
		payload []byte
		code    int
	}{
		{"a binary frame closes with 1003", websocket.BinaryMessage, []byte(`{"type":"ping"}`), websocket.CloseUnsupportedData},
		{"invalid UTF-8 closes with 1007", websocket.TextMessage, []byte("{\"type\":\"ping\",\"data\":{\"x\":\"\xff\xfe\"}}"), websocket.CloseInvalidFramePayloadData},
		{"a frame over 64 KiB closes with 1009", websocket.TextMessage, []byte(`{"type":"ping","x":"` + strings.Repeat("a", 64<<10) + `"}`), websocket.CloseMessageTooBig},
	} {
		t.Run(c.name, func(t *testing.T) {
			ws := open(t)
			if err := ws.SendRaw(c.kind, c.payload); err != nil {
				t.Fatalf("send: %v", err)
			}
			for _, f := range ws.ExpectClose(c.code, harness.WSTimeout) {
				if !wsSignal(f) {
					t.Fatalf("before the close: %s %.200s", f.Type, f.Data)
				}
			}
			stillWorks(t)
		})
	}
}

func TestWebSocketTypingAndPresence(t *testing.T) {
	srv := wsStart(t, wsConfig(t, harness.SQLite))
	owner, member := srv.NewUser(t), srv.NewUser(t)
	sid := wsSession(t, owner, wsModel())
	owner.Do("POST", "/api/v1/chat/sessions/"+sid+"/participants",
		map[string]any{"user_id": member.UserID, "role": "member"}).Expect(http.StatusCreated)
	a, b := owner.WS(sid), member.WS(sid)
	a.ExpectType("session.snapshot", harness.WSTimeout)
	b.ExpectType("session.snapshot", harness.WSTimeout)
	wsMarker(t, owner, a, sid)
	wsMarker(t, owner, b, sid)

	// typingOf reads b until a typing frame of the owner and returns it.
	typingOf := func(t *testing.T, ws *harness.WS, timeout time.Duration) map[string]any {
		t.Helper()
		fs := ws.Until(timeout, func(f harness.Frame) bool { return f.Type == "typing" })
		f := fs[len(fs)-1]
		d := f.DataMap(t)
		if f.Seq != 0 || f.SessionID != sid || d["user_id"] != owner.UserID {
			t.Fatalf("typing frame seq %d session %q %v, want the owner's, without seq", f.Seq, f.SessionID, d)
		}
		return d
	}
	noOwnTyping := func(t *testing.T) {
		t.Helper()
		for _, f := range wsMarker(t, owner, a, sid) {
			if f.Type == "typing" {
				t.Fatalf("the typist got their own typing frame %.200s", f.Data)
			}
		}
	}

	t.Run("start and stop reach the others, not the typist", func(t *testing.T) {
		if err := a.SendType("typing.start", nil); err != nil {
			t.Fatal(err)
		}
		if d := typingOf(t, b, harness.WSTimeout); d["is_typing"] != true {
			t.Fatalf("after typing.start: %v", d)
		}
		noOwnTyping(t)
		if err := a.SendType("typing.stop", nil); err != nil {
			t.Fatal(err)
		}
		if d := typingOf(t, b, harness.WSTimeout); d["is_typing"] != false {
			t.Fatalf("after typing.stop: %v", d)
		}
		noOwnTyping(t)
	})

	t.Run("an indicator not renewed expires", func(t *testing.T) {
		if testing.Short() {
			t.Skip("waits for the typing TTL (5s)")
		}
		if err := a.SendType("typing.start", nil); err != nil {
			t.Fatal(err)
		}
		typingOf(t, b, harness.WSTimeout)
		started := time.Now()
		ttl := 5 * time.Second
		d := typingOf(t, b, ttl+3*time.Second)
		took := time.Since(started)
		t.Logf("typing expired after %v", took)
		if d["is_typing"] != false || took < ttl-time.Second {
			t.Fatalf("after %v without renewal: %v; want is_typing false after the TTL of %v", took, d, ttl)
		}
	})

	t.Run("a typing flood is throttled, then closed with 1008", func(t *testing.T) {
		flooder := owner.WS(sid)
		flooder.ExpectType("session.snapshot", harness.WSTimeout)
		wsMarker(t, owner, b, sid)
		start := time.Now()
		sent := 0
		for sent < 1000 && time.Since(start) < 5*time.Second {
			typ := "typing.start"
			if sent%2 == 1 {
				typ = "typing.stop"
			}
			if err := flooder.SendType(typ, nil); err != nil {
				break // closed under us: what we wait for
			}
			sent++
			time.Sleep(time.Millisecond)
		}
		flooder.ExpectClose(websocket.ClosePolicyViolation, harness.WSTimeout)
		elapsed := time.Since(start)
		n := 0
		for _, f := range wsMarker(t, owner, b, sid) {
			if f.Type == "typing" {
				n++
			}
		}
		t.Logf("sent %d typing frames in %v; the other socket got %d typing events", sent, elapsed, n)
		// A burst of 4, then 2 a second, and maybe the flooder's own end of typing.
		if limit := 5 + int(2*elapsed.Seconds()); n > limit {
			t.Fatalf("%d typing events reached the others during a flood of %v, want at most %d", n, elapsed, limit)
		}
		wsMarker(t, owner, a, sid)
		wsPingPong(t, a) // the typist's other socket is untouched
	})

	t.Run("presence: first socket online, last socket offline", func(t *testing.T) {
		other := srv.NewUser(t)
		owner.Do("POST", "/api/v1/chat/sessions/"+sid+"/participants",
			map[string]any{"user_id": other.UserID, "role": "viewer"}).Expect(http.StatusCreated)
		var seen []string
		collect := func(fs []harness.Frame) {
			for _, f := range fs {
				if f.Type != "presence" {
					continue
				}
				d := f.DataMap(t)
				if f.Seq != 0 || f.SessionID != sid {
					t.Fatalf("presence frame with seq %d session %q", f.Seq, f.SessionID)
				}
				if d["user_id"] == other.UserID {
					seen = append(seen, fmt.Sprint(d["online"]))
				}
			}
		}
		first := other.WS(sid)
		first.ExpectType("session.snapshot", harness.WSTimeout)
		collect(wsMarker(t, owner, a, sid))
		if len(seen) != 1 || seen[0] != "true" {
			t.Fatalf("after the first socket: presence %v, want [true]", seen)
		}
		second := other.WS(sid)
		second.ExpectType("session.snapshot", harness.WSTimeout)
		collect(wsMarker(t, owner, a, sid))
		first.Close()
		wsEventually(t, "the first socket is gone", func() bool { return wsActive(t, owner) == 3 })
		collect(wsMarker(t, owner, a, sid))
		if len(seen) != 1 {
			t.Fatalf("with a second socket opened and the first closed: presence %v, want just [true]", seen)
		}
		second.Drop()
		fs := a.Until(harness.WSTimeout, func(f harness.Frame) bool {
			return f.Type == "presence" && bytes.Contains(f.Data, []byte(other.UserID))
		})
		collect(fs)
		collect(wsMarker(t, owner, a, sid))
		if len(seen) != 2 || seen[1] != "false" {
			t.Fatalf("after the last socket closed: presence %v, want [true false]", seen)
		}
	})
}

// wsWaitEnded polls the stored message until it is no longer generating.
func wsWaitEnded(t testing.TB, c *harness.Client, sid, id string) map[string]any {
	t.Helper()
	var m map[string]any
	wsEventually(t, "reply "+id+" ended", func() bool {
		m = wsStored(t, c, sid, id)
		return m["status"] != "pending" && m["status"] != "streaming"
	})
	return m
}

func TestWebSocketSlowConsumerIsClosedAndResumes(t *testing.T) {
	cfg := wsConfig(t, harness.SQLite)
	// A socket may fall 128 send queues behind (its backlog) before it is
	// closed: 4 x 128 = 512 frames, well within the reply.
	cfg.WSSendBuffer = 4
	srv := wsStart(t, cfg)
	owner := srv.NewUser(t)
	const tokens = 600 // within the replay window (2048 events)
	sid := wsSession(t, owner, wsModel(fmt.Sprintf("tokens=%d", tokens), "tps=0"))
	// The slow socket is not read until the reply is over, and its receive
	// buffer is small, so the server's queue for it fills.
	slow := owner.WS(sid, harness.WSOptions{RecvBuffer: 4096})

	content := "a long answer for a slow reader"
	_, replyID := wsSend(t, owner, sid, content, "")
	stored := wsWaitEnded(t, owner, sid, replyID)
	want := llmsim.ExpectedReply(content, tokens)
	if stored["status"] != "completed" || stored["content"] != want {
		t.Fatalf("stored reply %v with %d bytes, want completed with %d", stored["status"], len(fmt.Sprint(stored["content"])), len(want))
	}

	tr := harness.NewReplyTracker(-1)
	got := slow.ExpectClose(4008, harness.WSTimeout)
	for _, f := range got {
		if _, err := tr.Apply(f); err != nil {
			t.Fatalf("slow socket, before its close: %s seq %d: %v", f.Type, f.Seq, err)
		}
	}
	if tr.Snapshots != 1 || tr.Messages[replyID] == nil || tr.Messages[replyID].Ended {
		t.Fatalf("the slow socket read %d frames (%d snapshots, reply %+v) before 4008; want it cut mid-reply",
			len(got), tr.Snapshots, tr.Messages[replyID])
	}
	t.Logf("the slow socket got %d frames (%d deltas) before 4008", len(got), tr.Messages[replyID].Deltas)

	// Each resume within the window replays from where the client stopped.
	// With a send buffer this small a replay may itself be cut
	// (TestWebSocketResumeLongerThanTheSendBuffer), so the client resumes
	// until the end, as the contract tells it to; never a gap, never a snapshot.
	rounds := 0
	for round := 1; !tr.Messages[replyID].Ended; round++ {
		rounds = round
		before := tr.LastSeq
		resumed := owner.WS(sid, harness.WSOptions{LastSeq: harness.Seq(tr.LastSeq)})
		for !tr.Messages[replyID].Ended {
			f, err := resumed.Next(harness.WSTimeout)
			if err != nil {
				if harness.CloseCode(err) != 4008 {
					t.Fatalf("resume %d after seq %d: %v", round, before, err)
				}
				break
			}
			if _, err := tr.Apply(f); err != nil {
				t.Fatalf("resume %d: %s seq %d: %v", round, f.Type, f.Seq, err)
			}
		}
		resumed.Drop()
		if round > 200 {
			t.Fatal("no end after 200 resumes")
		}
	}
	t.Logf("%d resumes to the end of the reply", rounds)
	if tr.Snapshots != 1 || tr.Text(replyID) != want {
		t.Fatalf("after resuming (%d snapshots): built %d bytes, want %d", tr.Snapshots, len(tr.Text(replyID)), len(want))
	}
}

func TestWebSocketTypingLimitIsPerUser(t *testing.T) {
	srv := wsStart(t, wsConfig(t, harness.SQLite))
	owner, member := srv.NewUser(t), srv.NewUser(t)
	sid := wsSession(t, owner, wsModel())
	owner.Do("POST", "/api/v1/chat/sessions/"+sid+"/participants",
		map[string]any{"user_id": member.UserID, "role": "member"}).Expect(http.StatusCreated)
	b := member.WS(sid)
	b.ExpectType("session.snapshot", harness.WSTimeout)
	var socks []*harness.WS
	for range 10 {
		ws := owner.WS(sid)
		ws.ExpectType("session.snapshot", harness.WSTimeout)
		socks = append(socks, ws)
	}
	wsMarker(t, owner, b, sid)
	start := time.Now()
	for round := 0; time.Since(start) < 2*time.Second; round++ {
		for k, ws := range socks {
			typ := "typing.start"
			if (round+k)%2 == 1 {
				typ = "typing.stop"
			}
			_ = ws.SendType(typ, nil)
		}
		time.Sleep(100 * time.Millisecond)
	}
	elapsed := time.Since(start)
	n := 0
	for _, f := range wsMarker(t, owner, b, sid) {
		if f.Type == "typing" {
			n++
		}
	}
	if limit := 5 + int(2*elapsed.Seconds()); n > limit {
		t.Fatalf("one user on %d sockets got %d typing events to the others in %v, want at most %d", len(socks), n, elapsed, limit)
	}
}
