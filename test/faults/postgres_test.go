package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/llmsim"
	"github.com/chatd/chatd/test/harness"
)

const (
	// outageAnswerWithin bounds how long a request may take to answer 503
	// while the database is gone: its deadline (outageRequestTimeout) and
	// room for a loaded CI machine.
	outageAnswerWithin   = 6 * time.Second
	outageRequestTimeout = 4 * time.Second
	// probeTimeout is how long a probe waits before calling it a hang.
	probeTimeout = 15 * time.Second
	// The outage lasts at least outageHold, and goes on for
	// outageAfterReply after the upstream has sent the whole reply.
	outageHold       = 2500 * time.Millisecond
	outageAfterReply = time.Second
	// recoverWithin bounds how long chatd takes to serve again once the
	// database is back, without a restart.
	recoverWithin = 10 * time.Second

	// The reply streams for outageTokens/outageTPS seconds and ends during
	// the outage: its final save must wait for the database (saveEnd retries
	// for 10 s), flushes of its progress fail meanwhile.
	outageTokens = 30
	outageTPS    = 10
)

// A stopped PostgreSQL (pg_ctl stop -m fast) mid-stream: requests answer
// 503 at once, /health/ready 503, and chatd serves again when it returns.
func TestPostgresStoppedMidStream(t *testing.T) {
	testPostgresOutage(t, "stopped", (*pgServer).stop, (*pgServer).start)
}

// A frozen PostgreSQL (SIGSTOP on every process) mid-stream: the sockets
// stay open and nothing answers; requests must still answer 503 within
// their deadline instead of hanging.
func TestPostgresFrozenMidStream(t *testing.T) {
	testPostgresOutage(t, "frozen", (*pgServer).freeze, (*pgServer).thaw)
}

// testPostgresOutage runs the scenario.
func testPostgresOutage(t *testing.T, what string, begin, end func(*pgServer)) {
	pg := startPostgres(t)
	cfg := harness.DefaultConfig(t, harness.SQLite)
	cfg.DatabaseURL = pg.URL
	cfg.RequestTimeout = outageRequestTimeout
	sim := harness.WithUpstream(t, &cfg, llmsim.Options{})
	srv := harness.Start(t, cfg)
	c := srv.NewUser(t)
	llmModel := model(fmt.Sprintf("tokens=%d", outageTokens), fmt.Sprintf("tps=%d", outageTPS))
	sid := newSession(t, c, llmModel)

	// Contents that got a 2xx (each must be stored exactly once) and those
	// refused during the outage (stored at most once).
	acked := map[string]bool{}
	var refused []string
	for i := range 2 {
		content := fmt.Sprintf("before the outage %d", i)
		post(t, c, sid, content, false)
		acked[content] = true
	}

	// A slow reply streaming over SSE: read until its first delta.
	prompt := "Tell me a long story while the database goes away"
	stream := c.PostSSE(messagesPath(sid), map[string]any{"content": prompt})
	if !stream.IsStream() {
		t.Fatalf("SSE post: status %d, body %.300s", stream.Status, stream.Body)
	}
	acked[prompt] = true
	var replyID string
	var deltas strings.Builder
	for deltas.Len() == 0 {
		e, ok := stream.Next()
		if !ok {
			t.Fatal("the SSE stream ended before the first delta")
		}
		replyID = readFrame(t, e, replyID, &deltas)
	}

	// The outage. Ready answers 503 within its own deadline (a second).
	begin(pg)
	outage := time.Now()
	t.Logf("postgres %s", what)
	// Unchecked: the subtest "not ready matches the OpenAPI document" checks its body.
	notReady := callUnchecked(t, srv, "", "GET", readyPath, nil, probeTimeout)
	if notReady.Err != nil || notReady.Status != http.StatusServiceUnavailable || notReady.Took > outageAnswerWithin {
		t.Errorf("ready with postgres %s: %v, want 503 within %v", what, notReady, outageAnswerWithin)
	}
	t.Run("requests answer 503 within their deadline", func(t *testing.T) {
		for round := range 2 {
			// Twice: the second round needs new connections, whose handshake fails (or hangs) too.
			content := fmt.Sprintf("during the outage %d", round)
			refused = append(refused, content)
			probes := map[string]func() answer{
				"GET messages": func() answer {
					return call(t, srv, c.Token, "GET", messagesPath(sid), nil, probeTimeout)
				},
				"POST message": func() answer {
					return call(t, srv, c.Token, "POST", messagesPath(sid), map[string]any{"content": content, "process_llm": false}, probeTimeout)
				},
				"GET session": func() answer {
					return call(t, srv, c.Token, "GET", sessionsPath+"/"+sid, nil, probeTimeout)
				},
			}
			for name, a := range runAll(probes) {
				switch {
				case a.Err != nil:
					t.Errorf("round %d, %s with postgres %s: %v (hung instead of answering 503 within %v)", round, name, what, a, outageAnswerWithin)
				case a.Took > outageAnswerWithin:
					t.Errorf("round %d, %s with postgres %s: %v, want an answer within %v", round, name, what, a, outageAnswerWithin)
				default:
					if msg := problemError(a, http.StatusServiceUnavailable); msg != "" {
						t.Errorf("round %d, %s with postgres %s: %s", round, name, what, msg)
					}
				}
				if a.Err == nil && a.Status < 300 && name == "POST message" {
					acked[content] = true
				}
			}
		}
	})
	// Hold the outage until the upstream has sent the whole reply, and a
	// moment more: the reply ends while the database is away.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := sim.WaitIdle(ctx); err != nil {
		t.Fatalf("the upstream did not finish the reply: %v", err)
	}
	for hold := time.Now().Add(outageAfterReply); time.Since(outage) < outageHold || time.Now().Before(hold); {
		if a := callUnchecked(t, srv, "", "GET", readyPath, nil, probeTimeout); a.Err != nil || a.Status != http.StatusServiceUnavailable {
			t.Errorf("ready with postgres %s: %v, want 503", what, a)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Run("not ready matches the OpenAPI document", func(t *testing.T) {
		req, err := http.NewRequestWithContext(context.Background(), "GET", srv.URL+readyPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		harness.LoadSpec(t).Check(t, req, notReady.Status, notReady.Header, notReady.Body)
	})

	// The database returns: chatd serves again, without a restart.
	end(pg)
	back := time.Now()
	t.Logf("postgres back after %v of outage", back.Sub(outage).Round(time.Millisecond))
	var last answer
	if !until(recoverWithin, func() bool {
		last = callUnchecked(t, srv, "", "GET", readyPath, nil, 5*time.Second) // 503 bodies: see the not-ready subtest
		if last.Status != http.StatusOK {
			return false
		}
		last = call(t, srv, c.Token, "GET", messagesPath(sid), nil, 5*time.Second)
		return last.Status == http.StatusOK
	}) {
		t.Fatalf("chatd did not recover within %v of postgres coming back: %v", recoverWithin, last)
	}
	t.Logf("chatd serving again %v after postgres came back", time.Since(back).Round(time.Millisecond))
	for i := range 2 {
		content := fmt.Sprintf("after the outage %d", i)
		post(t, c, sid, content, false)
		acked[content] = true
	}

	// The reply ends; the SSE stream ends with it and agrees with storage.
	for {
		e, ok := stream.Next()
		if !ok {
			break
		}
		readFrame(t, e, replyID, &deltas)
	}
	reply := awaitFinal(t, c, sid, replyID, 30*time.Second)
	t.Logf("reply ended %s with %d bytes (deltas: %d bytes)", reply.Status, len(reply.Content), deltas.Len())
	checkEnded(t, reply, prompt, outageTokens)
	if reply.Status != "completed" {
		t.Errorf("the upstream finished the reply and postgres came back %v later, within the 10 s its final save is "+
			"retried: it should be stored completed: %v", outageAfterReply, reply)
	}
	if reply.Status == "completed" && deltas.String() != reply.Content {
		t.Errorf("SSE deltas\n %q\ndiffer from the stored reply\n %q", deltas.String(), reply.Content)
	}
	if n := replyRequests(sim, llmModel); n != 1 {
		t.Errorf("%d upstream requests for one reply", n)
	}

	// A restart on the same database repairs anything left streaming;
	// nothing may remain streaming after it, and nothing acked is missing.
	srv.Stop(t)
	srv2 := harness.Start(t, cfg)
	c2 := srv2.Client(t)
	c2.Token = c.Token
	stored := listMessages(t, c2, sid)
	seen := map[string]bool{}
	for _, m := range stored {
		if seen[m.ID] {
			t.Errorf("message %s listed twice", m.ID)
		}
		seen[m.ID] = true
		if !final[m.Status] || m.IsStreaming {
			t.Errorf("after a restart a message is still unfinished: %v", m)
		}
	}
	if after, _ := find(stored, replyID); after.Status != reply.Status || after.Content != reply.Content {
		t.Errorf("reply changed across the restart: %v, then %v", reply, after)
	}
	checkPostgresRows(t, pg, sid, acked, refused)
}

// readFrame applies one SSE event of the turn: it returns the reply's id
// (learnt from its message.created) and collects the reply's deltas.
func readFrame(t *testing.T, e harness.SSEEvent, replyID string, deltas *strings.Builder) string {
	t.Helper()
	f := e.Frame(t)
	switch f.Type {
	case "message.created":
		var m message
		if err := json.Unmarshal(f.Data, &m); err != nil {
			t.Fatalf("message.created: %v", err)
		}
		if m.Role == "assistant" {
			return m.ID
		}
	case "message.delta":
		var d struct {
			MessageID string `json:"message_id"`
			Delta     string `json:"delta"`
		}
		if err := json.Unmarshal(f.Data, &d); err != nil {
			t.Fatalf("message.delta: %v", err)
		}
		if d.MessageID != replyID {
			t.Fatalf("delta of %s, want %s", d.MessageID, replyID)
		}
		deltas.WriteString(d.Delta)
	case "message.completed", "message.failed", "message.interrupted", "message.cancelled":
		var m message
		if err := json.Unmarshal(f.Data, &m); err != nil {
			t.Fatalf("%s: %v", f.Type, err)
		}
		if m.ID != replyID || m.Content != deltas.String() {
			t.Errorf("%s of %s holds %q; deltas said %q", f.Type, m.ID, m.Content, deltas.String())
		}
	default:
		t.Fatalf("unexpected SSE event %s: %s", f.Type, f.Data)
	}
	return replyID
}

// runAll runs the probes at once and collects their answers.
func runAll(probes map[string]func() answer) map[string]answer {
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := make(map[string]answer, len(probes))
	for name, probe := range probes {
		wg.Go(func() {
			a := probe()
			mu.Lock()
			out[name] = a
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// checkPostgresRows reads the session's rows directly: no id twice, every
// acked post exactly once, every refused post at most once, nothing unfinished.
func checkPostgresRows(t *testing.T, pg *pgServer, sid string, acked map[string]bool, refused []string) {
	t.Helper()
	db := pg.open("chatd")
	defer func() { _ = db.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var rows, ids, unfinished int
	if err := db.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT id),
		count(*) FILTER (WHERE status IN ('pending', 'streaming')) FROM chat_messages WHERE session_id = $1`, sid).
		Scan(&rows, &ids, &unfinished); err != nil {
		t.Fatalf("count rows: %v", err)
	}
	if rows != ids || unfinished != 0 {
		t.Errorf("%d rows, %d distinct ids, %d unfinished", rows, ids, unfinished)
	}
	res, err := db.QueryContext(ctx, `SELECT content, count(*) FROM chat_messages
		WHERE session_id = $1 AND role = 'user' GROUP BY content`, sid)
	if err != nil {
		t.Fatalf("count user messages: %v", err)
	}
	defer func() { _ = res.Close() }()
	count := map[string]int{}
	for res.Next() {
		var content string
		var n int
		if err := res.Scan(&content, &n); err != nil {
			t.Fatal(err)
		}
		count[content] = n
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	for content := range acked {
		if count[content] != 1 {
			t.Errorf("acked post %q stored %d times, want once", content, count[content])
		}
	}
	for _, content := range refused {
		if count[content] > 1 {
			t.Errorf("refused post %q stored %d times", content, count[content])
		}
	}
	if len(count) < len(acked) {
		t.Errorf("user messages stored: %v; acked: %v", count, acked)
	}
}
