package e2e

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the driver chatd's SQLite storage registers, for wsHoldSQLiteWriteLock

	"github.com/chatd/chatd/internal/llmsim"
	"github.com/chatd/chatd/test/harness"
)

// wsEvents reads frames until want sequenced ones came and returns those.
func wsEvents(t testing.TB, ws *harness.WS, want int) []harness.Frame {
	t.Helper()
	var out []harness.Frame
	if want == 0 {
		return nil
	}
	ws.Until(harness.WSTimeout, func(f harness.Frame) bool {
		if f.Type == "session.snapshot" {
			t.Fatalf("a snapshot (%.200s) where events were to be replayed", f.Data)
		}
		if f.Seq > 0 {
			out = append(out, f)
		}
		return len(out) == want
	})
	return out
}

// wsSameEvents fails unless got repeats want frame for frame.
func wsSameEvents(t testing.TB, what string, got, want []harness.Frame) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d events, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i].Type != want[i].Type || got[i].Seq != want[i].Seq || !bytes.Equal(got[i].Data, want[i].Data) {
			t.Fatalf("%s: event %d is %s %d %.200s, want %s %d %.200s", what, i, got[i].Type, got[i].Seq, got[i].Data,
				want[i].Type, want[i].Seq, want[i].Data)
		}
	}
}

// wsFirstEvent posts a marker message and returns the first frame that is
// not a signal: the marker's message.created when nothing else was due.
func wsFirstEvent(t testing.TB, c *harness.Client, ws *harness.WS, sid string) (harness.Frame, map[string]any) {
	t.Helper()
	m := e2ePost(t, c, sid, "marker")
	return wsAnswer(t, ws), m
}

func TestWebSocketResume(t *testing.T) {
	srv := wsStart(t, wsConfig(t, harness.SQLite))
	owner := srv.NewUser(t)
	const tokens = 30
	sid := wsSession(t, owner, wsModel("tokens=30", "tps=300"))
	live := owner.WS(sid)
	s0 := harness.DecodeSnapshot(t, live.Expect(harness.WSTimeout)).LastSeq
	content := "resume me"
	_, replyID := wsSend(t, owner, sid, content, "")
	turn := wsSequenced(t, live, replyID)
	wsCheckTurn(t, turn, sid, s0, content)
	s1 := turn[len(turn)-1].Seq
	want := llmsim.ExpectedReply(content, tokens)

	t.Run("last_seq within the window replays, without a snapshot", func(t *testing.T) {
		ws := owner.WS(sid, harness.WSOptions{LastSeq: harness.Seq(s0)})
		wsSameEvents(t, "replay after the turn's start", wsEvents(t, ws, len(turn)), turn)
		tr := harness.NewReplyTracker(s0)
		for _, f := range turn {
			if _, err := tr.Apply(f); err != nil {
				t.Fatal(err)
			}
		}
		if tr.Text(replyID) != want {
			t.Fatalf("the replay builds %q, want %q", tr.Text(replyID), want)
		}
		// Then the live stream goes on from there.
		f, m := wsFirstEvent(t, owner, ws, sid)
		if f.Type != "message.created" || f.Seq <= s1 || !bytes.Contains(f.Data, []byte(m["id"].(string))) {
			t.Fatalf("after the replay: %s seq %d, want the marker after %d", f.Type, f.Seq, s1)
		}
	})

	t.Run("last_seq in the middle of a reply replays the rest", func(t *testing.T) {
		mid := turn[10].Seq
		ws := owner.WS(sid, harness.WSOptions{LastSeq: harness.Seq(mid)})
		wsSameEvents(t, "replay mid-reply", wsEvents(t, ws, len(turn)-11), turn[11:])
	})

	t.Run("last_seq at the head replays nothing", func(t *testing.T) {
		probe := owner.WS(sid)
		last := harness.DecodeSnapshot(t, probe.Expect(harness.WSTimeout)).LastSeq
		probe.Close()
		ws := owner.WS(sid, harness.WSOptions{LastSeq: harness.Seq(last)})
		f, m := wsFirstEvent(t, owner, ws, sid)
		if f.Type != "message.created" || f.Seq != last+1 || !bytes.Contains(f.Data, []byte(m["id"].(string))) {
			t.Fatalf("first frame after resuming at the head (%d): %s seq %d %.200s, want the marker with seq %d", last, f.Type, f.Seq, f.Data, last+1)
		}
	})

	t.Run("a resume frame on an open socket replays", func(t *testing.T) {
		ws := owner.WS(sid)
		now := harness.DecodeSnapshot(t, ws.Expect(harness.WSTimeout)).LastSeq
		if err := ws.SendType("resume", map[string]any{"last_seq": s0}); err != nil {
			t.Fatal(err)
		}
		got := wsEvents(t, ws, int(now-s0))
		wsSameEvents(t, "resume frame after the turn's start", got[:len(turn)], turn)
		for i, f := range got {
			if f.Seq != s0+1+int64(i) {
				t.Fatalf("replayed event %d has seq %d, want %d", i, f.Seq, s0+1+int64(i))
			}
		}
	})

	t.Run("a last_seq outside the window or from the future gets a snapshot", func(t *testing.T) {
		probe := owner.WS(sid)
		head := harness.DecodeSnapshot(t, probe.Expect(harness.WSTimeout)).LastSeq
		for _, seq := range []int64{0, 1, head + 1, head + 1_000_000} {
			ws := owner.WS(sid, harness.WSOptions{LastSeq: harness.Seq(seq)})
			if s := harness.DecodeSnapshot(t, wsAnswer(t, ws)); s.LastSeq != head || len(s.Streaming) != 0 {
				t.Fatalf("?last_seq=%d: snapshot %+v, want last_seq %d and nothing streaming", seq, s, head)
			}
			ws.Close()
			if err := probe.SendType("resume", map[string]any{"last_seq": seq}); err != nil {
				t.Fatal(err)
			}
			if s := harness.DecodeSnapshot(t, wsAnswer(t, probe)); s.LastSeq != head {
				t.Fatalf("resume {last_seq: %d}: snapshot %+v, want last_seq %d", seq, s, head)
			}
		}
	})
}

func TestWebSocketResumeOutsideASmallWindow(t *testing.T) {
	cfg := wsConfig(t, harness.SQLite)
	cfg.ReplayEvents = 20
	srv := wsStart(t, cfg)
	owner := srv.NewUser(t)
	const tokens = 60
	sid := wsSession(t, owner, wsModel("tokens=60", "tps=40"))
	ws := owner.WS(sid)
	tr := harness.NewReplyTracker(-1)
	wsTrack(t, ws, tr, func() bool { return tr.Snapshots == 1 })
	content := "a window too small"
	_, replyID := wsSend(t, owner, sid, content, "")
	wsTrack(t, ws, tr, func() bool { m := tr.Messages[replyID]; return m != nil && m.Deltas >= 2 })
	ws.Drop()
	dropped := tr.LastSeq
	// Wait until more than the window has happened since.
	probe := owner.WS(sid)
	pt := harness.NewReplyTracker(-1)
	wsTrack(t, probe, pt, func() bool { return pt.Snapshots == 1 })
	wsTrack(t, probe, pt, func() bool { return pt.LastSeq > dropped+25 })

	again := owner.WS(sid, harness.WSOptions{LastSeq: harness.Seq(dropped)})
	f := again.Expect(harness.WSTimeout)
	for f.Type == "presence" {
		f = again.Expect(harness.WSTimeout)
	}
	snap := harness.DecodeSnapshot(t, f)
	if snap.LastSeq <= dropped+25 || len(snap.Streaming) != 1 || snap.Streaming[0]["id"] != replyID {
		t.Fatalf("resume after %d, out of a 20-event window: snapshot %+v", dropped, snap)
	}
	if _, err := tr.Apply(f); err != nil {
		t.Fatal(err)
	}
	wsTrack(t, again, tr, wsEnded(tr, replyID))
	want := llmsim.ExpectedReply(content, tokens)
	if tr.Text(replyID) != want || wsStored(t, owner, sid, replyID)["content"] != want {
		t.Fatalf("after a snapshot resume: %q, want %q", tr.Text(replyID), want)
	}
}

func TestWebSocketResumeLongerThanTheSendBuffer(t *testing.T) {
	srv := wsStart(t, wsConfig(t, harness.SQLite))
	owner := srv.NewUser(t)
	const tokens = 1500
	sid := wsSession(t, owner, wsModel("tokens=1500", "tps=0"))
	ws := owner.WS(sid)
	tr := harness.NewReplyTracker(-1)
	wsTrack(t, ws, tr, func() bool { return tr.Snapshots == 1 })
	content := "a long reply missed"
	_, replyID := wsSend(t, owner, sid, content, "")
	wsTrack(t, ws, tr, func() bool { return tr.Messages[replyID] != nil })
	ws.Drop()
	wsWaitEnded(t, owner, sid, replyID)

	again := owner.WS(sid, harness.WSOptions{LastSeq: harness.Seq(tr.LastSeq)})
	wsTrack(t, again, tr, wsEnded(tr, replyID))
	if want := llmsim.ExpectedReply(content, tokens); tr.Snapshots != 1 || tr.Text(replyID) != want {
		t.Fatalf("one resume of %d events: %d snapshots, %d bytes, want %d", tokens+1, tr.Snapshots, len(tr.Text(replyID)), len(want))
	}
}

// wsRunTB is the testing.TB of one property run, which runs on a goroutine
// of its own: failures are recorded (a fatal one ends the run's goroutine)
// and its log is kept, to print with the seed when the run fails.
type wsRunTB struct {
	testing.TB
	mu     sync.Mutex
	failed bool
	log    []string
}

func (r *wsRunTB) Helper() {}

func (r *wsRunTB) record(fail bool, s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = r.failed || fail
	r.log = append(r.log, s)
}

func (r *wsRunTB) Logf(format string, args ...any) { r.record(false, fmt.Sprintf(format, args...)) }
func (r *wsRunTB) Log(args ...any)                 { r.record(false, fmt.Sprint(args...)) }
func (r *wsRunTB) Errorf(format string, args ...any) {
	r.record(true, "ERROR: "+fmt.Sprintf(format, args...))
}
func (r *wsRunTB) Error(args ...any)                 { r.record(true, "ERROR: "+fmt.Sprint(args...)) }
func (r *wsRunTB) Fail()                             { r.record(true, "FAIL") }
func (r *wsRunTB) FailNow()                          { r.record(true, "FAIL"); runtime.Goexit() }
func (r *wsRunTB) Fatal(args ...any)                 { r.Error(args...); runtime.Goexit() }
func (r *wsRunTB) Fatalf(format string, args ...any) { r.Errorf(format, args...); runtime.Goexit() }
func (r *wsRunTB) Failed() bool                      { r.mu.Lock(); defer r.mu.Unlock(); return r.failed }

// wsPropStats counts what the property runs exercised.
type wsPropStats struct {
	mu     sync.Mutex
	counts map[string]int
}

func (s *wsPropStats) add(key string) {
	s.mu.Lock()
	s.counts[key]++
	s.mu.Unlock()
}

// wsReconnect is how a dropped client comes back.
type wsReconnect int

const (
	wsWithLastSeq     wsReconnect = iota // ?last_seq=<last applied>
	wsWithResumeFrame                    // no last_seq; the first snapshot is set aside and resume {last_seq} sent
	wsWithSnapshot                       // no last_seq; the snapshot is applied
)

var wsReconnectNames = map[wsReconnect]string{wsWithLastSeq: "last_seq", wsWithResumeFrame: "resume-frame", wsWithSnapshot: "snapshot"}

// wsPropClient is a client that follows the contract's rules for one
// session and tells a server fault from what it brought on itself.
type wsPropClient struct {
	t       *wsRunTB
	stats   *wsPropStats
	c       *harness.Client
	sid     string
	replyID string // "" until the reply is posted
	tr      *harness.ReplyTracker
	ws      *harness.WS

	setAside     bool // the next snapshot is the greeting of a resume-frame reconnect: not applied
	awaiting     bool // a resume was asked for: gaps are expected until its replay is applied
	lost         bool // the client threw frames away: a gap is its own doing, answered by a resume
	fetched      bool // a snapshot no longer listed the reply: its end is read from the API
	reconnects   int
	slowClosures int
}

func (p *wsPropClient) connect(mode wsReconnect) {
	p.t.Logf("connect: %s (last applied %d)", wsReconnectNames[mode], p.tr.LastSeq)
	o := harness.WSOptions{}
	if mode == wsWithLastSeq {
		o.LastSeq = harness.Seq(p.tr.LastSeq)
	}
	p.ws = p.c.WS(p.sid, o)
	p.setAside = mode == wsWithResumeFrame
	p.awaiting, p.lost = false, false
}

func (p *wsPropClient) resume() {
	p.t.Logf("send resume {last_seq: %d}", p.tr.LastSeq)
	if err := p.ws.SendType("resume", map[string]any{"last_seq": p.tr.LastSeq}); err != nil {
		p.t.Logf("send resume: %v", err)
	}
	p.awaiting = true
}

// step reads and handles one frame. It returns the read error (a timeout,
// or the socket's end) untouched.
func (p *wsPropClient) step(timeout time.Duration) error {
	f, err := p.ws.Next(timeout)
	if err != nil {
		return err
	}
	if f.Type == "session.snapshot" && p.setAside {
		p.setAside = false
		p.resume()
		return nil
	}
	ended := p.replyID != "" && p.tr.Messages[p.replyID] != nil && p.tr.Messages[p.replyID].Ended
	applied, err := p.tr.Apply(f)
	var gap *harness.GapError
	switch {
	case errors.As(err, &gap) && (p.awaiting || p.lost):
		if !p.awaiting {
			p.t.Logf("gap after frames thrown away: %v", err)
			p.stats.add("gap seen, resume frame sent")
			p.resume()
		}
		return nil
	case err != nil:
		p.t.Fatalf("%s seq %d (%.200s): %v", f.Type, f.Seq, f.Data, err)
	}
	if applied {
		if p.awaiting {
			if f.Type == "session.snapshot" {
				p.stats.add("resume answered by a snapshot")
			} else {
				p.stats.add("resume answered by a replay")
			}
		}
		p.awaiting = false
		if f.Type == "session.snapshot" {
			p.lost = false
			listed := bytes.Contains(f.Data, []byte(`"id":"`+p.replyID+`"`))
			p.t.Logf("snapshot applied: last_seq %d, reply listed: %v", p.tr.LastSeq, listed)
			if p.replyID != "" {
				switch {
				case listed && ended:
					p.t.Fatalf("a snapshot lists the reply as streaming after its end was applied")
				case !listed && !ended:
					// The reply ended before last_seq: the client reads it from the API.
					p.fetched = true
				}
			}
			if len(p.tr.Anomalies) > 0 {
				p.t.Logf("snapshot anomaly: %s", p.tr.Anomalies[len(p.tr.Anomalies)-1])
			}
		}
	}
	return nil
}

// read handles frames until done holds, the socket ends or the timeout
// passes; it returns the read error then.
func (p *wsPropClient) read(timeout time.Duration, done func() bool) error {
	deadline := time.Now().Add(timeout)
	for !done() {
		left := time.Until(deadline)
		if left <= 0 {
			return harness.ErrWSTimeout
		}
		if err := p.step(left); err != nil {
			return err
		}
	}
	return nil
}

// survive handles a socket that ended under the client: a server that
// fell behind closes with 4008, and the client resumes.
func (p *wsPropClient) survive(err error) {
	if harness.CloseCode(err) == 4008 {
		p.slowClosures++
		p.t.Logf("closed as a slow consumer: resuming")
		p.ws.Drop()
		p.connect(wsWithLastSeq)
		return
	}
	p.t.Fatalf("the socket ended: %v", err)
}

func (p *wsPropClient) replyEnded() bool {
	m := p.tr.Messages[p.replyID]
	return p.fetched || (m != nil && m.Ended)
}

// wsPropertyRun is one random run: a reply of random length and pace, a
// client that drops its connection at random points, reconnects one of
// three ways or throws frames away, and must end with exactly the stored text.
func wsPropertyRun(t *wsRunTB, c *harness.Client, run int, rng *rand.Rand, stats *wsPropStats) {
	tokens := 1 + rng.IntN(300)
	tps := []int{0, 1000, 3000}[rng.IntN(3)]
	ttft := rng.IntN(120)
	// Every fourth run in turn drops before the first delta, mid-reply, after
	// the end; the others drop anywhere.
	class := run % 4
	if class == 0 {
		ttft += 60
	}
	model := wsModel(fmt.Sprintf("tokens=%d", tokens), fmt.Sprintf("tps=%d", tps), fmt.Sprintf("ttft=%dms", ttft))
	t.Logf("run %d: %s, class %d", run, model, class)
	p := &wsPropClient{t: t, stats: stats, c: c, sid: wsSession(t, c, model), tr: harness.NewReplyTracker(-1)}
	p.connect(wsWithSnapshot)
	if err := p.read(harness.WSTimeout, func() bool { return p.tr.Snapshots == 1 }); err != nil {
		t.Fatalf("first snapshot: %v", err)
	}
	content := fmt.Sprintf("run %d of the property with %d tokens", run, tokens)
	_, p.replyID = wsSend(t, c, p.sid, content, "")

	drops := rng.IntN(4)
	if class < 3 && drops == 0 {
		drops = 1
	}
	for d := range drops {
		// When to drop: a condition on what the client applied, or a timer.
		wait := time.Duration(rng.IntN(400)) * time.Millisecond
		var when func() bool
		switch {
		case d == 0 && class == 0:
			wait, when = 0, func() bool { return true }
		case d == 0 && class == 1:
			k := 1 + rng.IntN(max(1, tokens-1))
			wait, when = harness.WSTimeout, func() bool {
				m := p.tr.Messages[p.replyID]
				return p.fetched || (m != nil && (m.Ended || m.Deltas >= k))
			}
		case d == 0 && class == 2:
			wait, when = harness.WSTimeout, p.replyEnded
		default:
			frames, seen := rng.IntN(tokens+6), 0
			when = func() bool { seen++; return seen > frames }
		}
		for {
			err := p.read(wait, when)
			if err == nil || errors.Is(err, harness.ErrWSTimeout) {
				break
			}
			p.survive(err)
		}
		m := p.tr.Messages[p.replyID]
		phase := "mid-reply"
		switch {
		case p.replyEnded():
			phase = "after the end"
		case m == nil || m.Deltas == 0 && m.Text == "":
			phase = "before the first delta"
		}
		stats.add("drop " + phase)

		if rng.IntN(5) == 0 {
			// No reconnect: the client throws the next frames away, as if
			// lost, and must see the gap and resume on the same socket.
			n := 1 + rng.IntN(20)
			t.Logf("drop %d (%s): throw away %d events", d, phase, n)
			stats.add("lose frames")
			for thrown := 0; thrown < n; {
				f, err := p.ws.Next(200 * time.Millisecond)
				if errors.Is(err, harness.ErrWSTimeout) {
					break
				}
				if err != nil {
					p.survive(err)
					break
				}
				if f.Seq > 0 {
					thrown++
					p.lost = true
				}
			}
			continue
		}
		if rng.IntN(2) == 0 {
			p.ws.Drop()
		} else {
			p.ws.Close()
		}
		offline := time.Duration(rng.IntN(150)) * time.Millisecond
		mode := wsReconnect(rng.IntN(3))
		t.Logf("drop %d (%s), offline %v", d, phase, offline)
		stats.add("reconnect " + wsReconnectNames[mode])
		time.Sleep(offline)
		p.reconnects++
		p.connect(mode)
	}

	// The end: read until the reply's end is applied. A client that threw
	// the last frames away sees no gap: once the API says the reply ended,
	// it resumes from what it applied.
	deadline := time.Now().Add(2 * harness.WSTimeout)
	for !p.replyEnded() {
		if time.Now().After(deadline) {
			t.Fatalf("no end of the reply (last applied %d, reply %+v)", p.tr.LastSeq, p.tr.Messages[p.replyID])
		}
		err := p.read(500*time.Millisecond, p.replyEnded)
		switch {
		case err == nil:
		case errors.Is(err, harness.ErrWSTimeout):
			if st := wsStored(t, c, p.sid, p.replyID)["status"]; st != "pending" && st != "streaming" {
				p.resume()
			}
		default:
			p.survive(err)
		}
	}
	p.ws.Drop()
	if len(p.tr.Anomalies) > 0 {
		t.Fatalf("the client saw anomalies (e.g. a snapshot listing a reply with a final status): %v", p.tr.Anomalies)
	}

	stored := wsStored(t, c, p.sid, p.replyID)
	want := llmsim.ExpectedReply(content, tokens)
	if stored["status"] != "completed" || stored["content"] != want {
		t.Fatalf("stored reply %v %q, want completed %q", stored["status"], stored["content"], want)
	}
	if p.fetched {
		stats.add("end read from the API after a snapshot")
		return
	}
	m := p.tr.Messages[p.replyID]
	if m.Text != want || m.Final != want || m.Status != "completed" {
		t.Fatalf("the client rebuilt %d bytes %q (end event: %s, %d bytes)\nstored and expected %d bytes %q",
			len(m.Text), m.Text, m.Status, len(m.Final), len(want), want)
	}
	stats.add("end applied from events")
	if p.slowClosures > 0 {
		stats.add("closed 4008 and resumed")
	}
}

// wsEnvInt reads a positive integer from the environment, or def.
func wsEnvInt(t testing.TB, name string, def int64) int64 {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

// TestWebSocketResumeProperty: whatever the moment and the manner of a
// client's drops, a client that follows the rules ends with exactly the
// stored text of the reply: never missing or doubled text.
func TestWebSocketResumeProperty(t *testing.T) {
	runs := int(wsEnvInt(t, "CHAT_WS_PROPERTY_RUNS", 200))
	seed := wsEnvInt(t, "CHAT_WS_PROPERTY_SEED", time.Now().UnixNano())
	const workers = 10
	srv := wsStart(t, wsConfig(t, harness.SQLite))
	users := make([]*harness.Client, workers)
	for i := range users {
		users[i] = srv.NewUser(t)
	}
	stats := &wsPropStats{counts: map[string]int{}}
	start := time.Now()
	next := make(chan int)
	var failures []*wsRunTB
	var failedRuns []int
	var mu sync.Mutex
	var done atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for run := range next {
				tb := &wsRunTB{TB: t}
				rng := rand.New(rand.NewPCG(uint64(seed), uint64(run)))
				finished := make(chan struct{})
				go func() {
					defer close(finished)
					wsPropertyRun(tb, e2eAs(tb, srv, users[w]), run, rng, stats)
				}()
				<-finished
				done.Add(1)
				if tb.Failed() {
					mu.Lock()
					failures = append(failures, tb)
					failedRuns = append(failedRuns, run)
					mu.Unlock()
				}
			}
		})
	}
	for run := range runs {
		mu.Lock()
		stop := len(failures) >= 3
		mu.Unlock()
		if stop {
			break
		}
		next <- run
	}
	close(next)
	wg.Wait()
	took := time.Since(start)
	var keys []string
	for k, v := range stats.counts {
		keys = append(keys, fmt.Sprintf("%s: %d", k, v))
	}
	slices.Sort(keys)
	t.Logf("%d runs in %v with seed %d; %s", done.Load(), took, seed, strings.Join(keys, ", "))
	for i, f := range failures {
		t.Errorf("run %d failed (reproduce with CHAT_WS_PROPERTY_SEED=%d; the run's rng is PCG(seed, run)):\n  %s",
			failedRuns[i], seed, strings.Join(f.log, "\n  "))
	}
	if len(failures) == 0 && runs >= 40 {
		for _, k := range []string{"drop before the first delta", "drop mid-reply", "drop after the end", "end applied from events"} {
			if stats.counts[k] == 0 {
				t.Errorf("no run had %q (seed %d): the property did not cover it", k, seed)
			}
		}
	}
}

func TestWebSocketSnapshotStatusRunsAheadOfEvents(t *testing.T) {
	cfg := wsConfig(t, harness.SQLite)
	srv := wsStart(t, cfg)
	owner := srv.NewUser(t)
	sid := wsSession(t, owner, wsModel("tokens=5", "ttft=300ms"))
	watch := owner.WS(sid)
	tr := harness.NewReplyTracker(-1)
	wsTrack(t, watch, tr, func() bool { return tr.Snapshots == 1 })
	_, replyID := wsSend(t, owner, sid, "stall the end", "")

	// Hold SQLite's write lock, so the reply's end waits for the database.
	release := wsHoldSQLiteWriteLock(t, cfg.DatabaseURL)
	defer release()
	wsTrack(t, watch, tr, func() bool { m := tr.Messages[replyID]; return m != nil && m.Deltas == 5 })
	var anomaly string
	deadline := time.Now().Add(2 * time.Second)
	for anomaly == "" && time.Now().Before(deadline) {
		probe := owner.WS(sid)
		snap := harness.DecodeSnapshot(t, probe.Expect(harness.WSTimeout))
		probe.Drop()
		for _, m := range snap.Streaming {
			if m["status"] != "streaming" && m["status"] != "pending" {
				anomaly = fmt.Sprintf("snapshot at %d lists %v with status %v, is_streaming %v", snap.LastSeq, m["id"], m["status"], m["is_streaming"])
			}
		}
	}
	release()
	wsTrack(t, watch, tr, wsEnded(tr, replyID))
	if anomaly != "" {
		t.Fatalf("%s; message.completed came after it, with seq %d", anomaly, tr.LastSeq)
	}
}

// wsHoldSQLiteWriteLock takes SQLite's write lock on the server's database
// file from another connection, as a stalled disk would, until release.
func wsHoldSQLiteWriteLock(t testing.TB, databaseURL string) (release func()) {
	t.Helper()
	path, _, _ := strings.Cut(strings.TrimPrefix(databaseURL, "sqlite://"), "?")
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_txlock=immediate")
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		_ = db.Close()
		t.Fatalf("take the write lock of %s: %v", path, err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			_ = tx.Rollback()
			_ = db.Close()
		})
	}
}
