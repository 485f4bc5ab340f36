package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatd/chatd/internal/llmsim"
)

// runFanout opens S WebSocket subscribers of one session, posts one long
// reply and measures the deltas delivered per second over all of them,
// checking that every subscriber got the exact text in order. With several
// chatd URLs the subscribers are spread round-robin over the processes and
// the reply is posted to the first.
func runFanout(ctx context.Context, e *env, args []string) (*result, error) {
	fs := flag.NewFlagSet("chatload fanout", flag.ContinueOnError)
	nSubs := fs.Int("subs", 1000, "WebSocket subscribers of the session")
	tokens := fs.Int("tokens", 5000, "tokens in the reply")
	tps := fs.Float64("tps", 0, "llmsim's tokens per second (0: as fast as it can)")
	ttft := fs.Duration("ttft", 0, "llmsim's time to first token")
	par := fs.Int("dial-concurrency", 32, "handshakes in flight at once")
	readBuf := fs.Int("read-buffer", 16<<10, "client read buffer per socket")
	wait := fs.Duration("wait", 2*time.Minute, "longest wait for every subscriber to see the reply end")
	e.spread = true
	if err := e.parse(fs, args); err != nil {
		return nil, err
	}
	if *nSubs < 1 || *tokens < 1 || *tps < 0 || *par < 1 {
		return nil, errors.New("-subs, -tokens and -dial-concurrency must be at least 1, -tps not negative")
	}
	ctx, cancel := e.withTimeout(ctx)
	defer cancel()
	procs := len(e.common.chatds)
	res := &result{scenario: e.label("fanout"), params: fmt.Sprintf("subs=%d tokens=%d tps=%g ttft=%s", *nSubs, *tokens, *tps, *ttft)}
	if procs > 1 {
		res.params += fmt.Sprintf(" processes=%d (subscribers %v)", procs, spreadCounts(*nSubs, procs))
	}

	users, err := e.api.registerUsers(ctx, e.runID, e.common.password, 1)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	u := users[0]
	model := simModel(*tokens, *tps, *ttft)
	sessionID, err := e.api.createSession(ctx, u.token, e.common.provider, model)
	if err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	content := "fanout of load run " + e.runID
	expected := llmsim.ExpectedReply(content, *tokens)

	// Each subscriber ends its wait once: at the reply's end, or when its
	// socket ends first.
	var ended sync.WaitGroup
	ended.Add(*nSubs)
	endedOnce := make([]sync.Once, *nSubs)
	e.progress("fanout: opening %d subscribers on %d chatd processes", *nSubs, procs)
	subs, err := openSubscribers(ctx, newWSClients(e.common.chatds, *readBuf), u.token, sessionID, *nSubs, *par,
		func(i int, s *subscriber) {
			s.expect = func(string) *string { return &expected }
			s.onEnd = func(string, *replyCheck) { endedOnce[i].Do(ended.Done) }
		})
	if err != nil {
		return nil, err
	}
	var readers sync.WaitGroup
	for i, s := range subs {
		readers.Add(1)
		go func() {
			defer readers.Done()
			s.run()
			endedOnce[i].Do(ended.Done)
		}()
	}
	before := sumMetrics(ctx, e.http, e.common.chatds)
	time.Sleep(500 * time.Millisecond)

	e.progress("fanout: posting a %d-token reply to %d subscribers", *tokens, *nSubs)
	chatdSampler := startSamplers(e.common.pids, 250*time.Millisecond)
	e.common.prof.cpu(e.label("fanout"))
	selfStart, wallStart := selfCPU(), time.Now()
	replyID, err := e.api.post(ctx, u.token, sessionID, content, "")
	if err != nil {
		closeSubscribers(subs)
		readers.Wait()
		return nil, fmt.Errorf("post: %w", err)
	}
	allEnded := make(chan struct{})
	go func() { ended.Wait(); close(allEnded) }()
	timedOut := false
	select {
	case <-allEnded:
	case <-time.After(*wait):
		timedOut = true
	case <-ctx.Done():
		timedOut = true
	}
	selfEnd, wall := selfCPU(), time.Since(wallStart)
	chatdSampler.finish()
	after := sumMetrics(context.Background(), e.http, e.common.chatds)
	e.common.prof.heap(e.label("fanout"))
	closeSubscribers(subs)
	readers.Wait()

	var (
		deltas, bytes   int64
		first, last     time.Time
		failed, slow    int
		otherClose      int
		seqGaps         int
		problems        []string
		incompleteCount int
		perProc         = make([]procFanout, procs)
	)
	for i, s := range subs {
		f, l := s.window()
		perProc[s.proc].see(f, l)
		if !f.IsZero() && (first.IsZero() || f.Before(first)) {
			first = f
		}
		if l.After(last) {
			last = l
		}
		code, _ := s.closed()
		c := s.replies[replyID]
		ok := c != nil && c.ok()
		if c != nil {
			deltas += int64(c.deltas)
			bytes += int64(c.bytes)
		}
		switch {
		case code == 4008:
			slow++
		case code != 0 && code != websocket.CloseNormalClosure && !ok:
			otherClose++
		}
		seqGaps += s.seq.gaps + s.seq.dups
		if ok && s.seq.gaps+s.seq.dups == 0 {
			perProc[s.proc].whole++
		}
		if !ok || s.seq.gaps+s.seq.dups > 0 {
			failed++
			if c == nil {
				incompleteCount++
			}
			if len(problems) < 5 {
				desc := "no delta of the reply"
				if c != nil {
					desc = c.problem()
				}
				problems = append(problems, fmt.Sprintf("subscriber %d (close code %d, seq gaps %d): %s", i, code, s.seq.gaps, desc))
			}
		}
	}
	elapsed := last.Sub(first)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(deltas) / elapsed.Seconds()
	}
	tokenEquiv := 0.0
	if elapsed > 0 && len(expected) > 0 {
		tokenEquiv = float64(bytes) / float64(len(expected)) * float64(*tokens) / elapsed.Seconds()
	}
	res.judge("subscribers with the exact text, in order", fmt.Sprintf("%d of %d", *nSubs-failed, *nSubs),
		"all (zero loss)", failed == 0)
	res.judge("subscribers closed as slow (4008)", fmt.Sprintf("%d", slow), "0", slow == 0)
	res.judge("tokens delivered per second (all subscribers)", fmt.Sprintf("%.0f/s (%d deltas in %s)", rate, deltas,
		elapsed.Round(time.Millisecond)), ">= 300k/s (Centrifugo ~370k/s)", rate >= 300000 && failed == 0)
	res.add("token-equivalents per second (text bytes / reply bytes x tokens)", fmt.Sprintf("%.0f/s", tokenEquiv))
	framesMetric := "frames sent by chatd (chatd_ws_frames_sent_total delta)"
	if procs > 1 {
		framesMetric = "frames sent by chatd (chatd_ws_frames_sent_total delta, all processes)"
	}
	res.add(framesMetric,
		fmt.Sprintf("%.0f", after["chatd_ws_frames_sent_total"]-before["chatd_ws_frames_sent_total"]))
	res.add("POST -> last delta anywhere", last.Sub(wallStart).Round(time.Millisecond).String())
	if procs > 1 {
		for k, p := range perProc {
			posted := ""
			if k == 0 {
				posted = " (posted to)"
			}
			res.add(fmt.Sprintf("process %d of %d%s: subscribers whole; POST -> first / last delta", k+1, procs, posted),
				p.describe(wallStart))
		}
	}
	chatdSampler.report(res, "chatd")
	res.add("chatload CPU (avg over the phase)", fmt.Sprintf("%.0f%% of one core", 100*float64(selfEnd-selfStart)/float64(wall)))
	if timedOut {
		res.note("not every subscriber saw the reply end within %s", *wait)
	}
	if otherClose > 0 {
		res.note("%d subscribers were closed by the server with another code", otherClose)
	}
	if seqGaps > 0 {
		res.note("%d seq gaps or duplicates over all subscribers", seqGaps)
	}
	if incompleteCount > 0 {
		res.note("%d subscribers saw no delta of the reply at all", incompleteCount)
	}
	for _, p := range problems {
		res.note("%s", p)
	}
	res.lossFailures = failed
	return res, nil
}

// procFanout is what the subscribers of one chatd process saw.
type procFanout struct {
	subs, whole int
	first, last time.Time
}

func (p *procFanout) see(first, last time.Time) {
	p.subs++
	if !first.IsZero() && (p.first.IsZero() || first.Before(p.first)) {
		p.first = first
	}
	if last.After(p.last) {
		p.last = last
	}
}

func (p *procFanout) describe(start time.Time) string {
	if p.first.IsZero() {
		return fmt.Sprintf("%d of %d whole; no delta", p.whole, p.subs)
	}
	return fmt.Sprintf("%d of %d whole; %s / %s", p.whole, p.subs,
		p.first.Sub(start).Round(time.Millisecond), p.last.Sub(start).Round(time.Millisecond))
}
