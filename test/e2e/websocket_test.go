package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/chatd/chatd/internal/adapters/bootstrap"
	"github.com/chatd/chatd/internal/adapters/realtime"
	"github.com/chatd/chatd/internal/llmsim"
	"github.com/chatd/chatd/test/harness"
)

// wsSequenced reads frames until the end of reply (message.completed,
// .failed or .cancelled for that id) and returns the sequenced ones: the
// session's events, without typing, presence and the like.
func wsSequenced(t testing.TB, ws *harness.WS, replyID string) []harness.Frame {
	t.Helper()
	var out []harness.Frame
	ws.Until(harness.WSTimeout, func(f harness.Frame) bool {
		if f.Seq > 0 {
			out = append(out, f)
		}
		switch f.Type {
		case "message.completed", "message.failed", "message.cancelled":
			var m struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(f.Data, &m)
			return m.ID == replyID
		}
		return false
	})
	return out
}

// wsCheckTurn checks the events of one turn as a socket saw them: the user
// message, the reply's placeholder, its deltas numbered from 0, its end;
// seqs one apart from after; every frame of the session. It returns the
// text the deltas build.
func wsCheckTurn(t testing.TB, frames []harness.Frame, sid string, after int64, content string) string {
	t.Helper()
	if len(frames) < 3 {
		t.Fatalf("%d events for a turn: %v", len(frames), wsTypes(frames))
	}
	for i, f := range frames {
		if f.Seq != after+1+int64(i) {
			t.Fatalf("event %d (%s) has seq %d, want %d: seqs go up by one per event", i, f.Type, f.Seq, after+1+int64(i))
		}
		if f.SessionID != sid {
			t.Fatalf("event %d (%s) has session_id %q, want %s", i, f.Type, f.SessionID, sid)
		}
	}
	user, placeholder, end := frames[0].DataMap(t), frames[1].DataMap(t), frames[len(frames)-1].DataMap(t)
	if frames[0].Type != "message.created" || user["role"] != "user" || user["content"] != content || user["status"] != "completed" {
		t.Fatalf("first event %s %v, want message.created of the user message %q", frames[0].Type, user, content)
	}
	if frames[1].Type != "message.created" || placeholder["role"] != "assistant" || placeholder["content"] != "" ||
		(placeholder["status"] != "pending" && placeholder["status"] != "streaming") || placeholder["parent_id"] != user["id"] {
		t.Fatalf("second event %s %v, want message.created of the reply placeholder", frames[1].Type, placeholder)
	}
	replyID := placeholder["id"].(string)
	var text strings.Builder
	for i, f := range frames[2 : len(frames)-1] {
		d := f.DataMap(t)
		if f.Type != "message.delta" || d["message_id"] != replyID || d["index"] != float64(i) {
			t.Fatalf("event %d: %s %v, want message.delta %d of %s", i+2, f.Type, d, i, replyID)
		}
		text.WriteString(d["delta"].(string))
	}
	if last := frames[len(frames)-1]; last.Type != "message.completed" || end["id"] != replyID || end["status"] != "completed" ||
		end["content"] != text.String() {
		t.Fatalf("last event %s %v, want message.completed of %s with the deltas' text %q", last.Type, end, replyID, text.String())
	}
	return text.String()
}

func wsTypes(frames []harness.Frame) []string {
	out := make([]string, len(frames))
	for i, f := range frames {
		out[i] = f.Type
	}
	return out
}

func TestWebSocketReplyReachesEveryParticipant(t *testing.T) {
	harness.ForEachDialect(t, func(t *testing.T, d harness.Dialect) {
		srv := wsStart(t, wsConfig(t, d))
		owner, member := srv.NewUser(t), srv.NewUser(t)
		const tokens = 40
		sid := wsSession(t, owner, wsModel("tokens=40", "tps=400"))
		owner.Do("POST", "/api/v1/chat/sessions/"+sid+"/participants",
			map[string]any{"user_id": member.UserID, "role": "member"}).Expect(http.StatusCreated)

		a, b := owner.WS(sid), member.WS(sid)
		snapA := harness.DecodeSnapshot(t, a.Expect(harness.WSTimeout))
		snapB := harness.DecodeSnapshot(t, b.Expect(harness.WSTimeout))
		if len(snapA.Streaming) != 0 || len(snapB.Streaming) != 0 || snapA.LastSeq != snapB.LastSeq || snapA.LastSeq <= 0 {
			t.Fatalf("first frames: snapshots %+v and %+v, want the same last_seq and nothing streaming", snapA, snapB)
		}

		content := "Hello over the websocket, both of you"
		_, replyID := wsSend(t, member, sid, content, "")
		framesA, framesB := wsSequenced(t, a, replyID), wsSequenced(t, b, replyID)
		text := wsCheckTurn(t, framesA, sid, snapA.LastSeq, content)
		wsCheckTurn(t, framesB, sid, snapB.LastSeq, content)
		if len(framesA) != len(framesB) {
			t.Fatalf("the owner saw %d events, the member %d", len(framesA), len(framesB))
		}
		for i := range framesA {
			fa, fb := framesA[i], framesB[i]
			if fa.Type != fb.Type || fa.Seq != fb.Seq || !bytes.Equal(fa.Data, fb.Data) {
				t.Fatalf("event %d differs between the sockets:\nowner  %s %d %s\nmember %s %d %s", i, fa.Type, fa.Seq, fa.Data, fb.Type, fb.Seq, fb.Data)
			}
		}
		if len(framesA) != tokens+3 {
			t.Fatalf("%d events, want 2 created + %d deltas + completed", len(framesA), tokens)
		}
		want := llmsim.ExpectedReply(content, tokens)
		stored := wsStored(t, owner, sid, replyID)
		if text != want || stored["content"] != want || stored["status"] != "completed" {
			t.Fatalf("deltas built %q\nstored %v %q\nwant %q", text, stored["status"], stored["content"], want)
		}

		// The replay window answers a late socket with the same events.
		late := member.WS(sid, harness.WSOptions{LastSeq: harness.Seq(snapA.LastSeq)})
		replayed := wsSequenced(t, late, replyID)
		if len(replayed) != len(framesA) {
			t.Fatalf("replay after %d: %d events, want %d", snapA.LastSeq, len(replayed), len(framesA))
		}
		for i := range replayed {
			if replayed[i].Seq != framesA[i].Seq || !bytes.Equal(replayed[i].Data, framesA[i].Data) {
				t.Fatalf("replayed event %d: %s %d %s, live it was %s %d %s", i, replayed[i].Type, replayed[i].Seq, replayed[i].Data,
					framesA[i].Type, framesA[i].Seq, framesA[i].Data)
			}
		}
	})
}

// wsTrack applies frames to tr until done says the client has what it
// waited for, failing on anything the rules cannot apply.
func wsTrack(t testing.TB, ws *harness.WS, tr *harness.ReplyTracker, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(harness.WSTimeout)
	for !done() {
		f, err := ws.Next(time.Until(deadline))
		if err != nil {
			t.Fatalf("socket of session %s: %v (last applied seq %d)", ws.SessionID, err, tr.LastSeq)
		}
		if _, err := tr.Apply(f); err != nil {
			t.Fatalf("socket of session %s: %s seq %d: %v", ws.SessionID, f.Type, f.Seq, err)
		}
	}
}

// wsEnded reports that the tracker applied the end of message id.
func wsEnded(tr *harness.ReplyTracker, id string) func() bool {
	return func() bool { m := tr.Messages[id]; return m != nil && m.Ended }
}

func TestWebSocketJoinMidReply(t *testing.T) {
	srv := wsStart(t, wsConfig(t, harness.SQLite))
	owner := srv.NewUser(t)
	const tokens = 80
	sid := wsSession(t, owner, wsModel("tokens=80", "tps=40"))
	first := owner.WS(sid)
	early := harness.NewReplyTracker(-1)
	wsTrack(t, first, early, func() bool { return early.Snapshots == 1 })

	content := "Tell me something slowly please"
	_, replyID := wsSend(t, owner, sid, content, "")
	// Join once the reply has streamed a few deltas.
	wsTrack(t, first, early, func() bool { m := early.Messages[replyID]; return m != nil && m.Deltas >= 5 })

	late := owner.WS(sid)
	snap := harness.DecodeSnapshot(t, late.Expect(harness.WSTimeout))
	want := llmsim.ExpectedReply(content, tokens)
	if len(snap.Streaming) != 1 || snap.Streaming[0]["id"] != replyID {
		t.Fatalf("snapshot mid-reply lists %v, want the reply %s", snap.Streaming, replyID)
	}
	so := snap.Streaming[0]
	sofar, _ := so["content"].(string)
	if so["status"] != "streaming" || so["role"] != "assistant" || sofar == "" || sofar == want || !strings.HasPrefix(want, sofar) {
		t.Fatalf("snapshot mid-reply holds %v %v with text %q; want the reply streaming with a proper prefix of %q", so["role"], so["status"], sofar, want)
	}
	tr := harness.NewReplyTracker(-1)
	if _, err := tr.Apply(harness.Frame{Type: "session.snapshot", SessionID: sid, Data: mustJSON(t, snap)}); err != nil {
		t.Fatal(err)
	}
	// The first event the late socket applies follows the snapshot's
	// last_seq exactly (the tracker refuses gaps); older ones are ignored.
	wsTrack(t, late, tr, wsEnded(tr, replyID))
	wsTrack(t, first, early, wsEnded(early, replyID))
	stored := wsStored(t, owner, sid, replyID)
	if got := tr.Text(replyID); got != want || stored["content"] != want || early.Text(replyID) != want {
		t.Fatalf("late socket built %q\nfirst socket built %q\nstored %q\nwant %q", got, early.Text(replyID), stored["content"], want)
	}
	if tr.Applied == 0 || tr.Messages[replyID].Deltas == 0 {
		t.Fatalf("the late socket applied %d events, %d deltas: the reply ended before it joined", tr.Applied, tr.Messages[replyID].Deltas)
	}
}

func mustJSON(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wsActive reads active_connections from the chat health route.
func wsActive(t testing.TB, c *harness.Client) int {
	t.Helper()
	h := c.Do("GET", "/api/v1/chat/health", nil).Expect(http.StatusOK).Map()
	n, ok := h["active_connections"].(float64)
	if !ok {
		t.Fatalf("chat health %v has no active_connections", h)
	}
	return int(n)
}

// wsEventually polls cond until it holds or the timeout passes.
func wsEventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(harness.WSTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, harness.WSTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wsMetric reads one unlabelled sample from /metrics (-1 when absent).
func wsMetric(t testing.TB, c *harness.Client, name string) float64 {
	t.Helper()
	body := string(c.Do("GET", "/metrics", nil).Expect(http.StatusOK).Body)
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			if err := json.Unmarshal([]byte(strings.TrimSpace(v)), &f); err != nil {
				t.Fatalf("metric %s: %q: %v", name, line, err)
			}
			return f
		}
	}
	return -1
}

func TestWebSocketLifecycle(t *testing.T) {
	srv := wsStart(t, wsConfig(t, harness.SQLite))
	anon := srv.Client(t)

	t.Run("session and message edits reach the socket", func(t *testing.T) {
		owner := srv.NewUser(t)
		sid := wsSession(t, owner, wsModel())
		ws := owner.WS(sid)
		tr := harness.NewReplyTracker(-1)
		wsTrack(t, ws, tr, func() bool { return tr.Snapshots == 1 })

		owner.Do("PUT", "/api/v1/chat/sessions/"+sid, map[string]any{"title": "renamed"}).Expect(http.StatusOK)
		f := wsNextEvent(t, ws, tr)
		if d := f.DataMap(t); f.Type != "session.updated" || d["id"] != sid || d["title"] != "renamed" {
			t.Fatalf("after PUT session: %s %v, want session.updated with the new title", f.Type, d)
		}

		m := e2ePost(t, owner, sid, "before the edit")
		if f := wsNextEvent(t, ws, tr); f.Type != "message.created" || f.DataMap(t)["id"] != m["id"] {
			t.Fatalf("after POST message: %s %.300s", f.Type, f.Data)
		}
		owner.Do("PUT", "/api/v1/chat/messages/"+m["id"].(string), map[string]any{"content": "after the edit"}).Expect(http.StatusOK)
		f = wsNextEvent(t, ws, tr)
		if d := f.DataMap(t); f.Type != "message.updated" || d["id"] != m["id"] || d["content"] != "after the edit" {
			t.Fatalf("after PUT message: %s %v, want message.updated with the new content", f.Type, d)
		}

		owner.Do("DELETE", "/api/v1/chat/sessions/"+sid, nil).Expect(http.StatusNoContent)
		f = wsNextEvent(t, ws, tr)
		if d := f.DataMap(t); f.Type != "session.deleted" || d["id"] != sid {
			t.Fatalf("after DELETE session: %s %v, want session.deleted", f.Type, d)
		}
		if rest := ws.ExpectClose(4404, harness.WSTimeout); len(rest) != 0 {
			t.Fatalf("frames after session.deleted: %v", wsTypes(rest))
		}
		srv.DialWSRefused(t, sid, harness.WSOptions{Token: owner.Token}, http.StatusNotFound)
	})

	t.Run("removing a participant closes their sockets only", func(t *testing.T) {
		owner, member, other := srv.NewUser(t), srv.NewUser(t), srv.NewUser(t)
		sid := wsSession(t, owner, wsModel())
		for _, u := range []*harness.Client{member, other} {
			owner.Do("POST", "/api/v1/chat/sessions/"+sid+"/participants",
				map[string]any{"user_id": u.UserID, "role": "member"}).Expect(http.StatusCreated)
		}
		ownerWS, otherWS := owner.WS(sid), other.WS(sid)
		memberWS := []*harness.WS{member.WS(sid), member.WS(sid)}
		for _, ws := range append([]*harness.WS{ownerWS, otherWS}, memberWS...) {
			ws.ExpectType("session.snapshot", harness.WSTimeout)
		}
		e2eAs(t, srv, owner).Do("DELETE", "/api/v1/chat/sessions/"+sid+"/participants/"+member.UserID, nil).Expect(http.StatusNoContent)
		for _, ws := range memberWS {
			for _, f := range ws.ExpectClose(4403, harness.WSTimeout) {
				if f.Seq > 0 {
					t.Fatalf("the removed member's socket got %s after the removal", f.Type)
				}
			}
		}
		srv.DialWSRefused(t, sid, harness.WSOptions{Token: member.Token}, http.StatusNotFound)
		// The others stay and keep receiving the session's events.
		m := e2ePost(t, owner, sid, "still here")
		for _, ws := range []*harness.WS{ownerWS, otherWS} {
			got := ws.UntilType("message.created", harness.WSTimeout)
			if got[len(got)-1].DataMap(t)["id"] != m["id"] {
				t.Fatalf("after the removal the socket got %.300s", got[len(got)-1].Data)
			}
		}
	})

	t.Run("health and metrics count open sockets", func(t *testing.T) {
		owner := srv.NewUser(t)
		wsEventually(t, "sockets of earlier subtests closed", func() bool { return wsActive(t, anon) == 0 })
		sid := wsSession(t, owner, wsModel())
		var open []*harness.WS
		for i := 1; i <= 3; i++ {
			ws := owner.WS(sid)
			ws.ExpectType("session.snapshot", harness.WSTimeout)
			open = append(open, ws)
			if n := wsActive(t, anon); n != i {
				t.Fatalf("%d sockets open, active_connections = %d", i, n)
			}
		}
		if m := wsMetric(t, anon, "chatd_ws_active_connections"); m != 3 {
			t.Fatalf("chatd_ws_active_connections = %v with 3 sockets open", m)
		}
		open[0].Close()
		open[1].Drop()
		wsEventually(t, "active_connections back to 1", func() bool { return wsActive(t, anon) == 1 })
		open[2].Close()
		wsEventually(t, "active_connections back to 0", func() bool { return wsActive(t, anon) == 0 })
		if m := wsMetric(t, anon, "chatd_ws_active_connections"); m != 0 {
			t.Fatalf("chatd_ws_active_connections = %v with every socket closed", m)
		}
	})
}

// wsNextEvent reads frames until the next sequenced one, applies it and
// returns it.
func wsNextEvent(t testing.TB, ws *harness.WS, tr *harness.ReplyTracker) harness.Frame {
	t.Helper()
	for {
		f := ws.Expect(harness.WSTimeout)
		applied, err := tr.Apply(f)
		if err != nil {
			t.Fatalf("%s seq %d: %v", f.Type, f.Seq, err)
		}
		if applied && f.Seq > 0 {
			return f
		}
	}
}

func TestWebSocketServerStopClosesWith1001(t *testing.T) {
	cfg := wsConfig(t, harness.SQLite)
	cfg.ShutdownTimeout = 2 * time.Second
	srv := wsStart(t, cfg)
	owner := srv.NewUser(t)
	// A reply that outlasts the drain's wait: the sockets must not wait for it.
	sid := wsSession(t, owner, wsModel("tokens=2000", "tps=20"))
	ws := owner.WS(sid)
	tr := harness.NewReplyTracker(-1)
	wsTrack(t, ws, tr, func() bool { return tr.Snapshots == 1 })
	_, replyID := wsSend(t, owner, sid, "keep talking", "")
	wsTrack(t, ws, tr, func() bool { m := tr.Messages[replyID]; return m != nil && m.Deltas > 0 })

	start := time.Now()
	stopped := make(chan time.Duration)
	go func() {
		srv.Stop(t)
		stopped <- time.Since(start)
	}()
	for _, f := range ws.ExpectClose(1001, harness.WSTimeout) {
		if _, err := tr.Apply(f); err != nil {
			t.Errorf("during the stop: %s seq %d: %v", f.Type, f.Seq, err)
		}
	}
	closedAfter := time.Since(start)
	stopTook := <-stopped
	t.Logf("socket closed with 1001 after %v; the stop took %v", closedAfter, stopTook)
	if closedAfter > time.Second || closedAfter > stopTook {
		t.Fatalf("the socket was closed %v into a stop of %v: sockets are closed at the start of the drain, not after the streams", closedAfter, stopTook)
	}
}

func TestWebSocketHandshake(t *testing.T) {
	cfg := wsConfig(t, harness.SQLite)
	const allowed = "https://app.example.com"
	env, _, err := bootstrap.Load(nil, func(k string) string {
		if k == "CHAT_CORS_ORIGINS" {
			return allowed
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.CORSOrigins = env.CORSOrigins
	srv := wsStart(t, cfg)
	owner, stranger := srv.NewUser(t), srv.NewUser(t)
	sid := wsSession(t, owner, wsModel())
	opened := func(t *testing.T, ws *harness.WS) {
		t.Helper()
		harness.DecodeSnapshot(t, ws.Expect(harness.WSTimeout))
	}

	t.Run("no token is 401", func(t *testing.T) {
		srv.DialWSRefused(t, sid, harness.WSOptions{Auth: harness.WSAuthNone}, http.StatusUnauthorized)
		srv.DialWSRefused(t, sid, harness.WSOptions{Auth: harness.WSAuthQuery, Token: ""}, http.StatusUnauthorized)
	})
	t.Run("a bad token is 401 wherever it is sent", func(t *testing.T) {
		for _, token := range []string{"not-a-token", owner.Token + "x", owner.RefreshToken} {
			for _, auth := range []harness.WSAuth{harness.WSAuthHeader, harness.WSAuthSubprotocol, harness.WSAuthQuery} {
				srv.DialWSRefused(t, sid, harness.WSOptions{Token: token, Auth: auth}, http.StatusUnauthorized)
			}
		}
	})
	t.Run("header token", func(t *testing.T) {
		opened(t, owner.WS(sid, harness.WSOptions{Auth: harness.WSAuthHeader}))
	})
	t.Run("subprotocol token: the server selects bearer and never echoes the token", func(t *testing.T) {
		ws := owner.WS(sid, harness.WSOptions{Auth: harness.WSAuthSubprotocol})
		if got := ws.Conn.Subprotocol(); got != "bearer" {
			t.Fatalf("selected subprotocol %q, want bearer", got)
		}
		if h := ws.Response.Header.Values("Sec-WebSocket-Protocol"); len(h) != 1 || h[0] != "bearer" {
			t.Fatalf("Sec-WebSocket-Protocol answered %q, want just bearer", h)
		}
		for k, vs := range ws.Response.Header {
			for _, v := range vs {
				if strings.Contains(v, owner.Token) {
					t.Fatalf("the answer echoes the token in %s", k)
				}
			}
		}
		opened(t, ws)
	})
	t.Run("query token", func(t *testing.T) {
		opened(t, owner.WS(sid, harness.WSOptions{Auth: harness.WSAuthQuery}))
	})
	t.Run("viewers and members may subscribe", func(t *testing.T) {
		for _, role := range []string{"viewer", "member"} {
			u := srv.NewUser(t)
			e2eAs(t, srv, owner).Do("POST", "/api/v1/chat/sessions/"+sid+"/participants",
				map[string]any{"user_id": u.UserID, "role": role}).Expect(http.StatusCreated)
			opened(t, e2eAs(t, srv, u).WS(sid))
		}
	})
	t.Run("a stranger gets the answer of a missing session", func(t *testing.T) {
		hidden := srv.DialWSRefused(t, sid, harness.WSOptions{Token: stranger.Token}, http.StatusNotFound)
		missing := srv.DialWSRefused(t, e2eRandomID(), harness.WSOptions{Token: stranger.Token}, http.StatusNotFound)
		if g, w := wsComparableProblem(t, hidden.Body), wsComparableProblem(t, missing.Body); !reflect.DeepEqual(g, w) {
			t.Fatalf("the answer tells a hidden session from a missing one\nhidden:  %v\nmissing: %v", g, w)
		}
		srv.DialWSRefused(t, "00000000-0000-0000-0000-000000000000", harness.WSOptions{Token: owner.Token}, http.StatusNotFound)
	})
	t.Run("a malformed session id is 400", func(t *testing.T) {
		for _, id := range []string{"not-a-uuid", strings.ToUpper(sid), strings.ReplaceAll(sid, "-", ""), "urn:uuid:" + sid} {
			srv.DialWSRefused(t, id, harness.WSOptions{Token: owner.Token}, http.StatusBadRequest)
		}
	})
	t.Run("origins", func(t *testing.T) {
		for _, origin := range []string{"https://evil.example.com", "http://app.example.com", "null", allowed + ".evil.com"} {
			srv.DialWSRefused(t, sid, harness.WSOptions{Token: owner.Token, Header: http.Header{"Origin": {origin}}}, http.StatusForbidden)
		}
		opened(t, owner.WS(sid, harness.WSOptions{Header: http.Header{"Origin": {allowed}}}))
		opened(t, owner.WS(sid)) // no Origin: not a browser
	})
	t.Run("a bad last_seq is 400", func(t *testing.T) {
		for _, v := range []string{"abc", "-1", "1.5", "", "99999999999999999999"} {
			srv.DialWSRefused(t, sid, harness.WSOptions{Token: owner.Token, Query: map[string]string{"last_seq": v}}, http.StatusBadRequest)
		}
	})
}

// wsComparableProblem is a problem body without what differs per request.
func wsComparableProblem(t testing.TB, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("decode %.300s: %v", body, err)
	}
	delete(m, "instance")
	delete(m, "request_id")
	return m
}

func TestWebSocketServerStopWithASocketThatDoesNotRead(t *testing.T) {
	cfg := wsConfig(t, harness.SQLite)
	cfg.ShutdownTimeout = 2 * time.Second
	cfg.WSSendBuffer = 1 << 20 // no slow-consumer close: the socket stays, blocked
	cfg.MaxTokensCeiling = 0
	// A long WriteWait makes the window deterministic; with the default 5s it
	// is 3s wide (a blocked write holds the socket that long).
	srv := wsStart(t, cfg, fx.Decorate(func(c realtime.Config) realtime.Config {
		c.WriteWait = 30 * time.Second
		return c
	}))
	owner := srv.NewUser(t)
	sid := wsSession(t, owner, wsModel("tokens=40000", "tps=0"))
	// A socket that never reads, with a small receive buffer, and more
	// than the kernel buffers hold queued for it: its writes block.
	stuck := owner.WS(sid, harness.WSOptions{RecvBuffer: 2048})
	_, replyID := wsSend(t, owner, sid, "fill the pipe", "")
	wsWaitEnded(t, owner, sid, replyID)
	capture := &wsRunTB{TB: t}
	start := time.Now()
	srv.Stop(capture)
	took := time.Since(start)
	stuck.Drop()
	if capture.Failed() || took > 5*time.Second {
		t.Fatalf("stop with a socket that does not read took %v: %v", took, capture.log)
	}
}

func TestWebSocketServerStopRacesADisconnect(t *testing.T) {
	for try := range 60 {
		srv := harness.Start(t, wsConfig(t, harness.SQLite))
		owner := srv.NewUser(t)
		sid := wsSession(t, owner, wsModel())
		var socks []*harness.WS
		for range 3 {
			ws := owner.WS(sid)
			ws.ExpectType("session.snapshot", harness.WSTimeout)
			socks = append(socks, ws)
		}
		for _, ws := range socks {
			ws.Drop()
		}
		capture := &wsRunTB{TB: t}
		srv.Stop(capture)
		if capture.Failed() {
			t.Fatalf("try %d: sockets closed just before the stop: %v", try, capture.log)
		}
	}
}
