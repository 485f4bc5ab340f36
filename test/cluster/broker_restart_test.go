package cluster

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// brokerOutage is how long the restarted broker stays away: long enough for
// every process to notice, short enough for a reply to outlive it.
const brokerOutage = time.Second

// TestBrokerRestartMidStream: the private redis-server restarts (empty)
// while a reply streams on A. chatd reconnects by itself: subscribers on
// every process, resuming with last_seq when their socket is closed, end
// with exactly the stored text, and afterwards a post on each process
// reaches the subscribers on all of them.
func TestBrokerRestartMidStream(t *testing.T) {
	c := newCluster(t, nil, "A", "B", "C")
	names := []string{"A", "B", "C"}
	a := c.proc("A")
	u := newUser(t, a, "greta")
	const tokens, tps = 200, 20 // about 10 s
	sid := u.newSession(a, simModel(tokens, tps))
	subs := make([]*subscriber, len(names))
	for i, name := range names {
		subs[i] = u.subscribe(c.proc(name), sid)
	}

	content := "keep going while the broker restarts"
	want := replyFor(content, tokens)
	post := u.post(a, sid, content)
	replyID := post.Reply.ID
	call := c.up.mustCallFor(content, 30*time.Second)
	if err := call.waitTokens(20, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	c.broker.restart(brokerOutage)
	if call.isEnded() {
		t.Fatal("the reply ended before the broker was back: the test proves nothing (make the reply longer)")
	}
	_, atRestart := call.sent()
	t.Logf("the broker was restarted after %d of %d tokens", atRestart, tokens)

	for _, err := range followAll(subs, names, c, replyID, 45*time.Second) {
		t.Errorf("across the broker restart: %v", err)
	}
	stored := u.waitFinished(a, sid, replyID, 30*time.Second)
	if stored.Status != "completed" || stored.Content != want {
		t.Errorf("the reply the upstream finished is stored %s (error %s) with %d bytes; want completed with all %d: "+
			"a broker restart must not spoil a reply", stored.Status, deref(stored.ErrorMessage), len(stored.Content), len(want))
	}
	checkEnds(t, subs, replyID, stored)
	if t.Failed() {
		return
	}

	// The service works after the restart, whichever process takes a post.
	for _, name := range names {
		p := c.proc(name)
		after := fmt.Sprintf("after the broker restart, through %s", name)
		res := u.postBody(p, sid, map[string]any{"content": after, "llm_model": simModel(5, 0)})
		for _, err := range followAll(subs, names, c, res.Reply.ID, 20*time.Second) {
			t.Errorf("a post on %s after the broker restart: %v", name, err)
		}
		stored := u.waitFinished(p, sid, res.Reply.ID, 30*time.Second)
		if want := replyFor(after, 5); stored.Status != "completed" || stored.Content != want {
			t.Errorf("a post on %s after the broker restart: the reply is stored %s with %q, want completed with %q",
				name, stored.Status, stored.Content, want)
		}
		checkEnds(t, subs, res.Reply.ID, stored)
	}
}

// followAll waits for every subscriber to see the reply end, each in its
// own goroutine and reconnecting to its own process when its socket is
// closed, as the phones behind them would: at once, not one after another.
func followAll(subs []*subscriber, names []string, c *cluster, replyID string, timeout time.Duration) []error {
	errs := make([]error, len(subs))
	var wg sync.WaitGroup
	for i, s := range subs {
		name := names[i]
		wg.Go(func() {
			errs[i] = s.untilEndedResuming(replyID, timeout, func() *chatd { return c.proc(name) })
		})
	}
	wg.Wait()
	return slices.DeleteFunc(errs, func(err error) bool { return err == nil })
}

// checkEnds holds every subscriber's view of a reply against the stored one:
// the end event carries it, and the deltas built exactly its text.
func checkEnds(t *testing.T, subs []*subscriber, replyID string, stored message) {
	t.Helper()
	for _, s := range subs {
		end, ok := s.ends[replyID]
		if !ok {
			continue // reported by the wait
		}
		if end.Status != stored.Status || end.Content != stored.Content {
			t.Errorf("%s saw reply %s end with %s (status %s, %d bytes); stored: %s with %d bytes",
				s, replyID, end.Type, end.Status, len(end.Content), stored.Status, len(stored.Content))
		}
		if got := s.rt.Text(replyID); got != stored.Content {
			t.Errorf("%s ended with %q for reply %s, want exactly the stored %q", s, got, replyID, stored.Content)
		}
	}
}
