package cluster

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestKilledOwnerIsRepaired: the process generating a reply is SIGKILLed;
// within 10 s a survivor stores the reply interrupted with the text streamed
// so far (a prefix of what the upstream sent, at most about a second short of
// it), and subscribers on the survivors get the reply's final event with
// status interrupted, next in seq.
func TestKilledOwnerIsRepaired(t *testing.T) {
	c := newCluster(t, nil, "A", "B", "C")
	a, b := c.proc("A"), c.proc("B")
	u := newUser(t, a, "erin")
	const tokens, tps = 300, 20 // about 15 s
	sid := u.newSession(a, simModel(tokens, tps))
	subs := map[string]*subscriber{}
	for _, name := range []string{"A", "B", "C"} {
		subs[name] = u.subscribe(c.proc(name), sid)
	}

	content := "what happens when the owner dies"
	post := u.post(b, sid, content)
	replyID := post.Reply.ID
	call := c.up.mustCallFor(content, 30*time.Second)
	owner := c.proc(call.process)
	// More than two seconds of tokens: the text has been flushed at least
	// once (every second) before the kill.
	if err := call.waitTokens(50, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	owner.kill()
	killed := time.Now()
	if err := call.waitEnded(10 * time.Second); err != nil {
		t.Fatalf("the upstream request outlived its killed process: %v", err)
	}
	sent, sentTokens := call.sent()
	var survivors []*chatd
	for _, name := range []string{"A", "B", "C"} {
		if name != owner.name {
			survivors = append(survivors, c.proc(name))
		}
	}

	// 10 s is the contract's bound; wait longer to tell "late" from "never".
	var stored message
	_, err := eventually(40*time.Second, func() (bool, string) {
		ms, err := u.tryMessages(survivors[0], sid)
		if err != nil {
			return false, err.Error()
		}
		for _, m := range ms {
			if m.ID == replyID {
				stored = m
				return m.finished(), fmt.Sprintf("status %s (is_streaming %v) with %d bytes", m.Status, m.IsStreaming, len(m.Content))
			}
		}
		return false, "the reply is not listed"
	})
	if err != nil {
		t.Fatalf("%s was killed while generating reply %s; no survivor repaired it: %v", owner.name, replyID, err)
	}
	took := time.Since(killed)
	t.Logf("repaired %v after the kill: %s with %d bytes; the upstream had sent %d tokens (%d bytes)",
		took.Round(100*time.Millisecond), stored.Status, len(stored.Content), sentTokens, len(sent))
	if took > 10*time.Second+time.Second { // the poll's own period and a loaded machine
		t.Errorf("the reply was repaired %v after its process died; the contract says within 10 s", took.Round(100*time.Millisecond))
	}
	if stored.Status != "interrupted" || stored.IsStreaming {
		t.Errorf("the repaired reply is %s (is_streaming %v), want interrupted", stored.Status, stored.IsStreaming)
	}
	if stored.Content == "" || !strings.HasPrefix(sent, stored.Content) {
		t.Errorf("the repaired reply holds %q, want a non-empty prefix of what the upstream sent %q", stored.Content, sent)
	}
	if stored.ErrorMessage == nil || *stored.ErrorMessage == "" {
		t.Errorf("the repaired reply has no error_message saying why it stopped")
	}
	for _, p := range survivors[1:] {
		if m := u.message(p, sid, replyID); m.Status != stored.Status || m.Content != stored.Content {
			t.Errorf("%s serves the reply as %s with %d bytes, %s as %s with %d bytes",
				p.name, m.Status, len(m.Content), survivors[0].name, stored.Status, len(stored.Content))
		}
	}

	for _, p := range survivors {
		s := subs[p.name]
		if err := s.untilEnded(replyID, 15*time.Second); err != nil {
			t.Errorf("the subscriber on %s, a survivor, was not told the reply ended: %v", p.name, err)
			continue
		}
		end := s.ends[replyID]
		if end.Status != "interrupted" || end.Content != stored.Content {
			t.Errorf("the subscriber on %s saw the reply end with %s (status %s, %d bytes), want status interrupted with the stored %d bytes",
				p.name, end.Type, end.Status, len(end.Content), len(stored.Content))
		}
		if !strings.HasPrefix(end.Built, stored.Content) && !strings.HasPrefix(stored.Content, end.Built) {
			t.Errorf("the subscriber on %s had built %q from the deltas, which disagrees with the stored %q", p.name, end.Built, stored.Content)
		}
	}
}

// TestStartingProcessInterruptsNothing: a process that starts (and a
// `chatd user create` that runs) while a reply streams on A leaves that
// reply alone: it completes with its whole text, its upstream request is
// never cut, and no subscriber sees it interrupted.
func TestStartingProcessInterruptsNothing(t *testing.T) {
	c := newCluster(t, nil, "A", "B", "C")
	a := c.proc("A")
	u := newUser(t, a, "frank")
	const tokens, tps = 120, 20 // about 6 s
	sid := u.newSession(a, simModel(tokens, tps))
	// A subscriber on the generating process: it sees the reply end the way
	// the process ended it, whatever carries events between processes.
	subs := []*subscriber{u.subscribe(a, sid)}

	content := "keep streaming while others start"
	want := replyFor(content, tokens)
	post := u.post(a, sid, content)
	replyID := post.Reply.ID
	call := c.up.mustCallFor(content, 30*time.Second)
	if err := call.waitTokens(5, 30*time.Second); err != nil {
		t.Fatal(err)
	}

	d := c.start("D")
	email := fmt.Sprintf("cluster-admin-%d@example.com", time.Now().UnixNano())
	out, code := c.run("user create", testPassword+"\n", "user", "create", "--email", email, "--password-stdin", "--admin")
	if code != 0 {
		t.Errorf("chatd user create exited %d: %s", code, out)
	}
	if call.isEnded() {
		t.Fatal("the reply finished before D was up: the test proves nothing (make the reply longer)")
	}

	deadline := time.Now().Add(30 * time.Second)
	for _, s := range subs {
		if err := s.untilEnded(replyID, untilOr(deadline)); err != nil {
			t.Errorf("after D started: %v", err)
		}
	}
	if gone, hungUp := call.hungUp(); hungUp {
		t.Errorf("the upstream request of %s was cut %v after it began, while D started", call.process, gone.Sub(call.started).Round(time.Millisecond))
	}
	stored := u.waitFinished(d, sid, replyID, 30*time.Second)
	if stored.Status != "completed" || stored.Content != want {
		t.Fatalf("after D started, the reply is stored %s with %q (error %v), want completed with %q",
			stored.Status, stored.Content, deref(stored.ErrorMessage), want)
	}
	for _, s := range subs {
		end, ok := s.ends[replyID]
		if !ok {
			continue
		}
		if end.Type != "message.completed" || end.Status != "completed" || end.Content != want {
			t.Errorf("the subscriber on %s saw the reply end with %s (status %s, %d bytes), want message.completed with the whole reply",
				s.p.name, end.Type, end.Status, len(end.Content))
		}
	}
	// The account the command made is there for every process.
	ans := u.do(d, http.MethodPost, "/api/v1/auth/login", map[string]any{"email": email, "password": testPassword})
	if ans.status != http.StatusOK {
		t.Errorf("the user made by chatd user create cannot log in on D: %s", ans)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}
