package cluster

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatd/chatd/test/harness"
)

// TestRollingRestart: three processes serve a few users who post and read
// replies without pause, through a round robin of the live processes; each
// process in turn is stopped with SIGTERM and started again. Every message
// that got a 201 is stored, nothing is left pending or streaming, a stopping
// process answers /health/ready with 503 and closes its sockets with 1001,
// and the clients that resume elsewhere end with exactly the stored text.
func TestRollingRestart(t *testing.T) {
	const shutdownTimeout = 3 * time.Second
	c := newCluster(t, map[string]string{
		"CHAT_DRAIN_DELAY":                "1s",
		"CHAT_SHUTDOWN_TIMEOUT":           shutdownTimeout.String(),
		"CHAT_MAX_CONCURRENT_GENERATIONS": "4",
	}, "A", "B", "C")
	names := []string{"A", "B", "C"}
	rot := &rotation{c: c, live: append([]string(nil), names...)}
	const tokens, tps = 30, 15 // about 2 s a reply

	clients := make([]*rollingClient, len(names))
	for i := range clients {
		u := newUser(t, c.proc("A"), fmt.Sprintf("user%d", i))
		sid := u.newSession(c.proc("A"), simModel(tokens, tps))
		// One socket on each process, so every stop closes at least one.
		clients[i] = &rollingClient{u: u, sid: sid, sub: u.subscribe(c.proc(names[i]), sid), rot: rot,
			finish: make(chan []string, 1)}
	}
	stopPosting, stopFollowing := make(chan struct{}), make(chan struct{})
	var posters, followers sync.WaitGroup
	var stopOnce sync.Once
	stopAll := func() {
		stopOnce.Do(func() {
			close(stopPosting)
			posters.Wait()
			close(stopFollowing)
			followers.Wait()
		})
	}
	defer stopAll() // on a failure: no goroutine outlives the test
	for _, rc := range clients {
		posters.Add(1)
		go func() { defer posters.Done(); rc.post(stopPosting) }()
		followers.Add(1)
		go func() { defer followers.Done(); rc.follow(stopFollowing) }()
	}

	var drains []drainProbe
	for _, name := range names {
		waitProgress(t, clients, 60*time.Second)
		p := c.proc(name)
		rot.remove(name)
		p.draining.Store(true)
		signalled := time.Now()
		if err := p.signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		probe := watchDrain(p, signalled)
		code, err := p.waitExit(shutdownTimeout + 15*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		probe.exit = code
		drains = append(drains, probe)
		t.Logf("%s: readiness %v, exit %d after %v", name, probe.outcomes, code, time.Since(signalled).Round(time.Millisecond))
		np, err := c.tryStart(name)
		if err != nil {
			t.Fatal(err)
		}
		rot.add(np.name)
	}
	waitProgress(t, clients, 60*time.Second)

	// Stop posting; every reply then ends, and the sockets must tell of it.
	close(stopPosting)
	posters.Wait()
	for _, rc := range clients {
		ids := make([]string, 0, len(rc.commits))
		for _, cm := range rc.commits {
			ids = append(ids, cm.reply)
		}
		rc.finish <- ids
	}
	close(stopFollowing)
	followers.Wait()
	stopOnce.Do(func() {})

	for _, d := range drains {
		if d.exit != 0 {
			t.Errorf("%s exited %d after SIGTERM, want 0", d.name, d.exit)
		}
		if !d.saw("503") {
			t.Errorf("%s never answered /health/ready with 503 while it drained (CHAT_DRAIN_DELAY=1s); saw %v", d.name, d.outcomes)
		}
		for _, problem := range d.problems {
			t.Errorf("%s while draining: %s", d.name, problem)
		}
	}

	reader := c.proc("A")
	closedByDrain := map[string]int{}
	total := 0
	for _, rc := range clients {
		u, sub := rc.u, rc.sub
		total += len(rc.commits)
		for _, problem := range rc.problems {
			t.Errorf("%s: %s", u.name, problem)
		}
		t.Logf("%s: %d posts committed, %d refused or lost (%s), sockets closed %d times, %d snapshots, %d old seqs ignored",
			u.name, len(rc.commits), len(rc.refusals), strings.Join(summarizeRefusals(rc.refusals), ", "),
			len(sub.closes), sub.rt.Snapshots, sub.rt.Ignored)
		for _, cl := range sub.closes {
			switch {
			case cl.Draining && cl.Code == websocket.CloseGoingAway:
				closedByDrain[cl.Process]++
			case cl.Draining:
				t.Errorf("%s's socket on %s, which was draining, ended with %v (code %d), want a 1001 close", u.name, cl.Process, cl.Err, cl.Code)
			case cl.Code == websocket.CloseTryAgainLater || cl.Code == 4008:
				t.Logf("%s's socket on %s (not draining) was closed with %d and resumed", u.name, cl.Process, cl.Code)
			default:
				t.Errorf("%s's socket on %s, which was not being stopped, ended with %v (code %d)", u.name, cl.Process, cl.Err, cl.Code)
			}
		}

		ms := u.waitSettled(reader, rc.sid, 30*time.Second)
		byID := map[string]message{}
		for _, m := range ms {
			byID[m.ID] = m
			if !m.finished() || m.IsStreaming {
				t.Errorf("%s's message %s is still %s (is_streaming %v) after the restarts", u.name, m.ID, m.Status, m.IsStreaming)
			}
		}
		for _, cm := range rc.commits {
			if m, ok := byID[cm.user]; !ok || m.Content != cm.content {
				t.Errorf("%s's post %q got 201 from %s but is not stored (found %v: %q)", u.name, cm.content, cm.via, ok, m.Content)
			}
			stored, ok := byID[cm.reply]
			if !ok {
				t.Errorf("the reply %s to %s's post %q (201 from %s) is not stored", cm.reply, u.name, cm.content, cm.via)
				continue
			}
			if rc.quit.Load() {
				continue // the follower stopped early; its problem is reported above
			}
			end, ended := sub.ends[cm.reply]
			switch {
			case !ended && sub.rt.Messages[cm.reply] == nil:
				t.Errorf("%s's client never heard of the reply %s (posted on %s, stored %s): %s", u.name, cm.reply, cm.via, stored.Status, sub.summary())
			case !ended:
				t.Errorf("%s's client never saw the reply %s end (stored %s with %d bytes; it built %d bytes): %s",
					u.name, cm.reply, stored.Status, len(stored.Content), len(sub.rt.Text(cm.reply)), sub.summary())
			case end.Status != stored.Status || end.Content != stored.Content:
				t.Errorf("%s's client saw the reply %s end with %s (status %s, %d bytes); stored: %s with %d bytes",
					u.name, cm.reply, end.Type, end.Status, len(end.Content), stored.Status, len(stored.Content))
			case end.Built != stored.Content:
				t.Errorf("%s's client built %q from the deltas of reply %s (status %s), but the stored text is %q",
					u.name, end.Built, cm.reply, stored.Status, stored.Content)
			}
		}
	}
	quit := false
	for _, rc := range clients {
		quit = quit || rc.quit.Load()
	}
	for _, name := range names {
		if closedByDrain[name] == 0 && !quit {
			t.Errorf("stopping %s closed none of the test's sockets with 1001, though one was open there", name)
		}
	}
	if total < 2*len(clients) {
		t.Errorf("only %d posts were committed in all: the test did not exercise much", total)
	}
}

// rotation is the load balancer: the processes taking new requests, in turn.
type rotation struct {
	c    *cluster
	mu   sync.Mutex
	live []string
	turn int
}

// next is the next live process after the last one handed out.
func (r *rotation) next() *chatd {
	return r.nextExcept("")
}

// nextExcept is next, avoiding one process when another is live.
func (r *rotation) nextExcept(avoid string) *chatd {
	r.mu.Lock()
	defer r.mu.Unlock()
	for range len(r.live) {
		r.turn++
		name := r.live[r.turn%len(r.live)]
		if name != avoid || len(r.live) == 1 {
			return r.c.proc(name)
		}
	}
	return r.c.proc(r.live[0])
}

func (r *rotation) remove(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, n := range r.live {
		if n == name {
			r.live = append(r.live[:i], r.live[i+1:]...)
			return
		}
	}
}

func (r *rotation) add(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.live = append(r.live, name)
}

// rollingClient is one user posting in their session and following it.
type rollingClient struct {
	u      *user
	sid    string
	sub    *subscriber
	rot    *rotation
	finish chan []string // the replies the follower must see end before it stops

	// Written by the poster goroutine, read by the test after it ended.
	commits   []commit
	refusals  []string
	committed atomic.Int64
	// Written by the follower and the poster, read after both ended.
	mu       sync.Mutex
	problems []string
	// quit is set when the follower gave up (a protocol problem, no process
	// to resume on): what its socket did afterwards is not known.
	quit atomic.Bool
}

// commit is a post that got 201.
type commit struct {
	content, user, reply, via string
}

func (rc *rollingClient) problem(format string, args ...any) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.problems = append(rc.problems, fmt.Sprintf(format, args...))
}

// post posts through the rotation, one message at a time, each after the
// previous reply has ended, until stop is closed.
func (rc *rollingClient) post(stop <-chan struct{}) {
	for turn := 0; ; turn++ {
		select {
		case <-stop:
			return
		default:
		}
		p := rc.rot.next()
		content := fmt.Sprintf("%s turn %d, please answer", rc.u.name, turn)
		res, ans, err := rc.u.tryPost(p, rc.sid, content)
		switch {
		case err != nil && ans == nil:
			// The connection failed: the post may or may not be stored; only
			// 201s are promises.
			rc.refusals = append(rc.refusals, "transport")
			time.Sleep(100 * time.Millisecond) // pacing between retries
			continue
		case err != nil:
			rc.problem("%v", err)
			continue
		case ans.status == http.StatusServiceUnavailable:
			rc.refusals = append(rc.refusals, "503")
			time.Sleep(100 * time.Millisecond)
			continue
		case ans.status != http.StatusCreated:
			rc.problem("a post answered %s", ans)
			rc.refusals = append(rc.refusals, fmt.Sprint(ans.status))
			time.Sleep(100 * time.Millisecond)
			continue
		}
		rc.commits = append(rc.commits, commit{content: content, user: res.User.ID, reply: res.Reply.ID, via: p.name})
		rc.committed.Add(1)
		if err := rc.waitEnded(res.Reply.ID, 60*time.Second); err != nil {
			rc.problem("%v", err)
			return
		}
	}
}

// waitEnded polls the reply through the rotation until it is finished.
func (rc *rollingClient) waitEnded(id string, timeout time.Duration) error {
	var last string
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ms, err := rc.u.tryMessages(rc.rot.next(), rc.sid)
		if err != nil {
			last = err.Error()
		} else {
			last = "not listed"
			for _, m := range ms {
				if m.ID == id {
					last = m.Status
					if m.finished() {
						return nil
					}
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("reply %s did not finish within %v (last: %s)", id, timeout, last)
}

// follow applies the session's events, resuming elsewhere with last_seq
// whenever the socket ends, until stop is closed and every reply the test
// names on finish has ended (or 30 s have passed since).
func (rc *rollingClient) follow(stop <-chan struct{}) {
	s := rc.sub
	var want []string
	var deadline time.Time
	for {
		select {
		case want = <-rc.finish:
			deadline = time.Now().Add(30 * time.Second)
		default:
		}
		if want != nil {
			done := true
			for _, id := range want {
				if _, ok := s.ends[id]; !ok {
					done = false
				}
			}
			if done || time.Now().After(deadline) {
				return
			}
		} else {
			select {
			case <-stop:
				if len(rc.finish) == 0 {
					return // the test ended early
				}
				continue
			default:
			}
		}
		_, err := s.step(500 * time.Millisecond)
		var closed *errClosed
		switch {
		case err == nil, errors.Is(err, harness.ErrWSTimeout):
			continue
		case errors.As(err, &closed):
			if err := rc.resume(s.p.name); err != nil {
				rc.problem("%v", err)
				rc.quit.Store(true)
				return
			}
		default:
			rc.problem("%s: %v; %s", s, err, s.summary())
			rc.quit.Store(true)
			return
		}
	}
}

// resume reconnects the socket with last_seq to a live process other than
// the one that closed it.
func (rc *rollingClient) resume(closed string) error {
	var last error
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if last = rc.sub.resumeOn(rc.rot.nextExcept(closed)); last == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s could not resume after the socket on %s closed: %w", rc.u.name, closed, last)
}

// waitProgress waits until every client has had one more post committed.
func waitProgress(t *testing.T, clients []*rollingClient, timeout time.Duration) {
	t.Helper()
	before := make([]int64, len(clients))
	for i, rc := range clients {
		before[i] = rc.committed.Load()
	}
	if _, err := eventually(timeout, func() (bool, string) {
		var behind []string
		for i, rc := range clients {
			if rc.committed.Load() <= before[i] {
				behind = append(behind, rc.u.name)
			}
		}
		return len(behind) == 0, "no new post committed for " + strings.Join(behind, ", ")
	}); err != nil {
		t.Fatalf("the clients made no progress: %v", err)
	}
}

// waitSettled lists a session's messages through p once none is pending
// or streaming (or after timeout, as they are then).
func (u *user) waitSettled(p *chatd, sid string, timeout time.Duration) []message {
	u.t.Helper()
	var ms []message
	_, _ = eventually(timeout, func() (bool, string) {
		ms = u.messages(p, sid)
		for _, m := range ms {
			if !m.finished() {
				return false, m.ID + " " + m.Status
			}
		}
		return true, ""
	})
	return ms
}

func summarizeRefusals(rs []string) []string {
	counts := map[string]int{}
	for _, r := range rs {
		counts[r]++
	}
	var out []string
	for r, n := range counts {
		out = append(out, fmt.Sprintf("%d× %s", n, r))
	}
	sort.Strings(out)
	return out
}

// drainProbe is what a load balancer saw of a stopping process: the answers
// of /api/v1/health/ready on fresh connections, in order.
type drainProbe struct {
	name     string
	outcomes []string // "200", "503", "refused", "reset", "exited"
	problems []string
	exit     int
}

func (d drainProbe) saw(outcome string) bool {
	for _, o := range d.outcomes {
		if o == outcome {
			return true
		}
	}
	return false
}

// watchDrain probes a process that was just signalled until it refuses
// connections or exits: readiness may answer 200 while the signal is being
// handled, then only 503 until the port closes.
func watchDrain(p *chatd, signalled time.Time) drainProbe {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	probe := drainProbe{name: p.name}
	add := func(o string) {
		if n := len(probe.outcomes); n == 0 || probe.outcomes[n-1] != o {
			probe.outcomes = append(probe.outcomes, o)
		}
	}
	for {
		if !p.running() {
			add("exited")
			return probe
		}
		status, err := getStatus(client, p.URL+"/api/v1/health/ready")
		switch {
		case err == nil && status == http.StatusOK:
			if probe.saw("503") {
				probe.problems = append(probe.problems, "readiness answered 200 again after 503")
			}
			add("200")
		case err == nil && status == http.StatusServiceUnavailable:
			add("503")
		case err == nil:
			probe.problems = append(probe.problems, fmt.Sprintf("readiness answered %d, want 503 (or a closed port)", status))
			add(fmt.Sprint(status))
		case errors.Is(err, syscall.ECONNREFUSED):
			add("refused")
			return probe
		case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF):
			add("reset") // caught in the listen backlog when the listener closed
		default:
			add("error")
		}
		if time.Since(signalled) > 20*time.Second {
			probe.problems = append(probe.problems, fmt.Sprintf("still accepting connections 20s after SIGTERM (saw %v)", probe.outcomes))
			return probe
		}
		time.Sleep(20 * time.Millisecond)
	}
}
