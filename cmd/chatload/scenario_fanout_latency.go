package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/internal/llmsim"
)

// probe is one posted reply as all the subscribers saw it.
type probe struct {
	firstAt, lastAt time.Time // first delta at the first and at the last subscriber
	firsts, ends    int
	ok              int
	done            chan struct{}
	// groupFirsts are the subscribers' first-delta times by group (on the
	// posting process or on another one).
	groupFirsts [groups][]time.Time
}

// runFanoutLatency posts short replies one after another to a session with
// S subscribers and measures POST -> first delta at the last subscriber to
// receive it (and at the first). With several chatd URLs the subscribers are
// spread round-robin over the processes, every post goes to the first, and
// the figures are also given for the subscribers on the posting process and
// on the others: the difference is what crossing processes adds.
func runFanoutLatency(ctx context.Context, e *env, args []string) (*result, error) {
	fs := flag.NewFlagSet("chatload fanout-latency", flag.ContinueOnError)
	nSubs := fs.Int("subs", 100, "WebSocket subscribers of the session")
	n := fs.Int("n", 300, "measured posts")
	warmup := fs.Int("warmup", 20, "posts before measuring, discarded")
	tokens := fs.Int("tokens", 5, "tokens per reply")
	ttft := fs.Duration("ttft", 0, "llmsim's time to first token")
	par := fs.Int("dial-concurrency", 32, "handshakes in flight at once")
	e.spread = true
	if err := e.parse(fs, args); err != nil {
		return nil, err
	}
	if *nSubs < 1 || *n < 1 || *tokens < 1 || *warmup < 0 {
		return nil, errors.New("-subs, -n and -tokens must be at least 1")
	}
	ctx, cancel := e.withTimeout(ctx)
	defer cancel()
	res := &result{scenario: e.label("fanout-latency"),
		params: fmt.Sprintf("subs=%d n=%d warmup=%d tokens=%d ttft=%s", *nSubs, *n, *warmup, *tokens, *ttft)}
	procs := len(e.common.chatds)
	if procs > 1 {
		res.params += fmt.Sprintf(" processes=%d (subscribers %v)", procs, spreadCounts(*nSubs, procs))
	}

	users, err := e.api.registerUsers(ctx, e.runID, e.common.password, 1)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	u := users[0]
	model := simModel(*tokens, 0, *ttft)
	sessionID, err := e.api.createSession(ctx, u.token, e.common.provider, model)
	if err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}

	var (
		mu      sync.Mutex
		probes  = map[string]*probe{}
		current atomic.Pointer[string] // expected text of the reply being posted
	)
	probeOf := func(id string) *probe { // with mu held
		p := probes[id]
		if p == nil {
			p = &probe{done: make(chan struct{})}
			probes[id] = p
		}
		return p
	}
	e.progress("fanout-latency: opening %d subscribers on %d chatd processes", *nSubs, procs)
	subs, err := openSubscribers(ctx, newWSClients(e.common.chatds, 4096), u.token, sessionID, *nSubs, *par,
		func(_ int, s *subscriber) {
			g := groupOf(s.proc)
			s.expect = func(string) *string { return current.Load() }
			s.onFirst = func(id string, at time.Time) {
				mu.Lock()
				p := probeOf(id)
				if p.firsts == 0 {
					p.firstAt = at
				}
				p.lastAt = at
				p.firsts++
				p.groupFirsts[g] = append(p.groupFirsts[g], at)
				mu.Unlock()
			}
			s.onEnd = func(id string, c *replyCheck) {
				mu.Lock()
				p := probeOf(id)
				p.ends++
				if c.ok() {
					p.ok++
				}
				if p.ends == *nSubs {
					close(p.done)
				}
				mu.Unlock()
			}
		})
	if err != nil {
		return nil, err
	}
	var readers sync.WaitGroup
	for _, s := range subs {
		readers.Add(1)
		go func() { defer readers.Done(); s.run() }()
	}
	closeAll := sync.OnceFunc(func() { closeSubscribers(subs); readers.Wait() })
	defer closeAll()

	e.progress("fanout-latency: %d posts (+%d warm-up)", *n, *warmup)
	e.common.prof.cpu(e.label("fanout-latency"))
	var atLast, atFirst []time.Duration
	var byGroup latencyGroups
	failures, passed := 0, 0
	var problems []string
	for i := range *warmup + *n {
		content := fmt.Sprintf("fanout latency probe %d of run %s", i, e.runID)
		exp := llmsim.ExpectedReply(content, *tokens)
		current.Store(&exp)
		start := time.Now()
		replyID, err := e.api.post(ctx, u.token, sessionID, content, "")
		if err != nil {
			return res, fmt.Errorf("post %d: %w", i, err)
		}
		mu.Lock()
		p := probeOf(replyID)
		mu.Unlock()
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
		case <-ctx.Done():
		}
		mu.Lock()
		firsts, ends, ok, first, last, groupFirsts := p.firsts, p.ends, p.ok, p.firstAt, p.lastAt, p.groupFirsts
		mu.Unlock()
		if firsts != *nSubs || ends != *nSubs || ok != *nSubs {
			failures++
			problems = append(problems, fmt.Sprintf("post %d: %d subscribers saw its first delta, %d its end, %d the exact text",
				i, firsts, ends, ok))
			break // a subscriber is gone or stuck: stop rather than measure a broken room
		}
		passed++
		if i >= *warmup {
			atLast = append(atLast, last.Sub(start))
			atFirst = append(atFirst, first.Sub(start))
			byGroup.addPost(start, groupFirsts)
		}
	}
	// Every event a socket got must carry the seq after the last one (the
	// readers are done, so their checks can be read).
	closeAll()
	seqBroken := 0
	for i, s := range subs {
		if s.seq.gaps+s.seq.dups > 0 {
			seqBroken++
			if len(problems) < 10 {
				problems = append(problems, fmt.Sprintf("subscriber %d (process %d): %d seq gaps, %d duplicates",
					i, s.proc+1, s.seq.gaps, s.seq.dups))
			}
		}
	}
	l, f := newDist(atLast), newDist(atFirst)
	res.add(fmt.Sprintf("POST -> first delta at the first of %d subscribers", *nSubs), f.quantiles())
	res.add(fmt.Sprintf("POST -> first delta at the last (%dth) subscriber", *nSubs), l.quantiles())
	res.judge("POST -> first delta at the last subscriber, p99", ms(l.q(.99)), "p99 <= 5 ms",
		l.n() > 0 && l.q(.99) <= 5*time.Millisecond)
	if procs > 1 {
		reportGroups(res, &byGroup, spreadCounts(*nSubs, procs))
	}
	res.judge("posts seen whole by every subscriber", fmt.Sprintf("%d of %d", passed, *warmup+*n), "all", failures == 0)
	res.judge("subscribers whose every event had the next seq", fmt.Sprintf("%d of %d", *nSubs-seqBroken, *nSubs), "all",
		seqBroken == 0)
	if *ttft > 0 {
		res.note("llmsim waits %s before the first token: it is included in the figures", *ttft)
	}
	for _, p := range problems {
		res.note("%s", p)
	}
	res.lossFailures = failures + seqBroken
	return res, nil
}

// reportGroups adds the first-delta figures of the subscribers on the
// posting process and on the others, and their difference.
func reportGroups(res *result, l *latencyGroups, counts []int) {
	n := [groups]int{}
	for k, c := range counts {
		n[groupOf(k)] += c
	}
	for g := range groups {
		res.add(fmt.Sprintf("POST -> first delta, every subscriber %s (%d)", groupNames[g], n[g]), l.everyDist(g).quantiles())
		res.add(fmt.Sprintf("POST -> first delta at the last subscriber %s", groupNames[g]), l.lastDist(g).quantiles())
	}
	for _, w := range []struct {
		what        string
		same, other dist
	}{
		{"every subscriber", l.everyDist(groupSame), l.everyDist(groupOther)},
		{"last subscriber", l.lastDist(groupSame), l.lastDist(groupOther)},
	} {
		p50, ok50 := added(w.same, w.other, .5)
		p99, ok99 := added(w.same, w.other, .99)
		if !ok50 || !ok99 {
			continue
		}
		res.add(fmt.Sprintf("added by another process (other - posting, %s), p50 / p99", w.what),
			msSigned(p50)+" / "+msSigned(p99))
	}
}
