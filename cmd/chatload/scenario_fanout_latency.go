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
}

// runFanoutLatency posts short replies one after another to a session with
// S subscribers and measures POST -> first delta at the last subscriber to
// receive it (and at the first).
func runFanoutLatency(ctx context.Context, e *env, args []string) (*result, error) {
	fs := flag.NewFlagSet("chatload fanout-latency", flag.ContinueOnError)
	nSubs := fs.Int("subs", 100, "WebSocket subscribers of the session")
	n := fs.Int("n", 300, "measured posts")
	warmup := fs.Int("warmup", 20, "posts before measuring, discarded")
	tokens := fs.Int("tokens", 5, "tokens per reply")
	ttft := fs.Duration("ttft", 0, "llmsim's time to first token")
	par := fs.Int("dial-concurrency", 32, "handshakes in flight at once")
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
	e.progress("fanout-latency: opening %d subscribers", *nSubs)
	subs, err := openSubscribers(ctx, newWSClient(e.common.chatd, 4096), u.token, sessionID, *nSubs, *par,
		func(_ int, s *subscriber) {
			s.expect = func(string) *string { return current.Load() }
			s.onFirst = func(id string, at time.Time) {
				mu.Lock()
				p := probeOf(id)
				if p.firsts == 0 {
					p.firstAt = at
				}
				p.lastAt = at
				p.firsts++
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
	defer func() { closeSubscribers(subs); readers.Wait() }()

	e.progress("fanout-latency: %d posts (+%d warm-up)", *n, *warmup)
	e.common.prof.cpu(e.label("fanout-latency"))
	var atLast, atFirst []time.Duration
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
		firsts, ends, ok, first, last := p.firsts, p.ends, p.ok, p.firstAt, p.lastAt
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
		}
	}
	l, f := newDist(atLast), newDist(atFirst)
	res.add(fmt.Sprintf("POST -> first delta at the first of %d subscribers", *nSubs), f.quantiles())
	res.add(fmt.Sprintf("POST -> first delta at the last (%dth) subscriber", *nSubs), l.quantiles())
	res.judge("POST -> first delta at the last subscriber, p99", ms(l.q(.99)), "p99 <= 5 ms",
		l.n() > 0 && l.q(.99) <= 5*time.Millisecond)
	res.judge("posts seen whole by every subscriber", fmt.Sprintf("%d of %d", passed, *warmup+*n), "all", failures == 0)
	if *ttft > 0 {
		res.note("llmsim waits %s before the first token: it is included in the figures", *ttft)
	}
	for _, p := range problems {
		res.note("%s", p)
	}
	res.lossFailures = failures
	return res, nil
}
