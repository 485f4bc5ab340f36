package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/internal/llmsim"
)

// runStreams runs N replies at once, each read over SSE by its poster, and
// checks every one arrived whole and in order; it reports the gaps between
// tokens at the client against the paced ideal, with the direct path (the
// same N streams read from llmsim itself) measured first in the same run.
func runStreams(ctx context.Context, e *env, args []string) (*result, error) {
	fs := flag.NewFlagSet("chatload streams", flag.ContinueOnError)
	n := fs.Int("n", 2000, "concurrent replies")
	tokens := fs.Int("tokens", 100, "tokens per reply")
	tps := fs.Float64("tps", 50, "llmsim's tokens per second per reply (50 = one every 20 ms)")
	ttft := fs.Duration("ttft", 100*time.Millisecond, "llmsim's time to first token")
	nUsers := fs.Int("users", 20, "users the sessions are spread over (chatd's CHAT_MAX_CONCURRENT_GENERATIONS must allow n/users each)")
	ramp := fs.Duration("ramp", 0, "spread the posts over this long (0: all at once)")
	withDirect := fs.Bool("direct", true, "first run the same streams against llmsim directly")
	if err := e.parse(fs, args); err != nil {
		return nil, err
	}
	if *n < 1 || *tokens < 2 || *tps <= 0 || *nUsers < 1 {
		return nil, errors.New("-n and -users must be at least 1, -tokens at least 2, -tps above 0")
	}
	ctx, cancel := e.withTimeout(ctx)
	defer cancel()
	ideal := time.Duration(float64(time.Second) / *tps)
	model := simModel(*tokens, *tps, *ttft)
	res := &result{scenario: e.label("streams"), params: fmt.Sprintf("n=%d tokens=%d tps=%g (ideal gap %s) ttft=%s users=%d ramp=%s",
		*n, *tokens, *tps, ideal, *ttft, *nUsers, *ramp)}

	e.progress("streams: registering %d users, creating %d sessions", *nUsers, *n)
	users, err := e.api.registerUsers(ctx, e.runID, e.common.password, *nUsers)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	sessions := make([]string, *n)
	err = forEach(ctx, *n, 16, func(ctx context.Context, i int) error {
		id, err := e.api.createSession(ctx, users[i%len(users)].token, e.common.provider, model)
		sessions[i] = id
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create sessions: %w", err)
	}
	content := func(i int) string { return fmt.Sprintf("stream %d of load run %s", i, e.runID) }
	delay := func(i int) time.Duration { return time.Duration(int64(*ramp) * int64(i) / int64(*n)) }

	var directGaps dist
	if *withDirect {
		e.progress("streams: direct path, %d streams from llmsim", *n)
		simSampler := startSampler(e.common.simPid, 500*time.Millisecond)
		all := make([][]time.Duration, *n)
		err := runAll(ctx, *n, delay, func(ctx context.Context, i int) error {
			d, err := streamDirect(ctx, e.http, e.common.llmsim, model, content(i), true)
			all[i] = d.gaps
			if err == nil && d.chunks != *tokens {
				err = fmt.Errorf("direct stream %d: %d chunks of %d", i, d.chunks, *tokens)
			}
			return err
		})
		simSampler.finish()
		if err != nil {
			return res, fmt.Errorf("direct path: %w", err)
		}
		directGaps = newDist(flatten(all))
		simSampler.report(res, "llmsim (direct phase)")
		time.Sleep(time.Second) // let the direct streams' connections settle
	}

	e.progress("streams: %d replies through chatd", *n)
	chatdSampler := startSampler(e.common.pid, 250*time.Millisecond)
	simSampler := startSampler(e.common.simPid, 500*time.Millisecond)
	e.common.prof.cpu(e.label("streams"))
	selfStart, wallStart := selfCPU(), time.Now()
	firsts := make([]time.Duration, *n)
	spans := make([][2]time.Time, *n)
	gaps := make([][]time.Duration, *n)
	var (
		failures atomic.Int64
		mu       sync.Mutex
		problems []string
	)
	report := func(format string, args ...any) {
		failures.Add(1)
		mu.Lock()
		if len(problems) < 10 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
		mu.Unlock()
	}
	_ = runAll(ctx, *n, delay, func(ctx context.Context, i int) error {
		u := users[i%len(users)]
		t, err := sseTurn(ctx, e.api, u.token, sessions[i], content(i), "", llmsim.ExpectedReply(content(i), *tokens), true)
		switch {
		case err != nil:
			report("stream %d: %v", i, err)
		case !t.check.ok():
			report("stream %d: %s", i, t.check.problem())
		}
		firsts[i], gaps[i], spans[i] = t.first, t.gaps, t.span
		return nil
	})
	selfEnd, wall := selfCPU(), time.Since(wallStart)
	chatdSampler.finish()
	simSampler.finish()
	e.common.prof.heap(e.label("streams"))

	g := newDist(flatten(gaps))
	f := newDist(firsts)
	lost := failures.Load()
	res.judge("replies whole, in order, completed", fmt.Sprintf("%d of %d", int64(*n)-lost, *n), "all (zero lost or reordered tokens)", lost == 0)
	res.add("POST -> first delta under load", f.quantiles())
	res.add("gap between tokens at the client", g.quantiles())
	res.add("extra gap (gap - ideal), p50", msSigned(g.q(.5)-ideal))
	res.judge("extra gap (gap - ideal), p99", msSigned(g.q(.99)-ideal), "far below GoModel's 258 ms (at 1000 streams)",
		g.q(.99)-ideal < 258*time.Millisecond/4)
	res.add("extra gap (gap - ideal), max", msSigned(g.max()-ideal))
	if *withDirect {
		res.add("direct: gap between chunks", directGaps.quantiles())
		res.add("chatd - direct gap, p50 / p99 / max", fmt.Sprintf("%s / %s / %s",
			msSigned(g.q(.5)-directGaps.q(.5)), msSigned(g.q(.99)-directGaps.q(.99)), msSigned(g.max()-directGaps.max())))
	}
	res.add("peak replies streaming at once (client-observed)", fmt.Sprintf("%d of %d", peakOverlap(spans), *n))
	res.add("phase wall time", wall.Round(time.Millisecond).String())
	chatdSampler.report(res, "chatd")
	simSampler.report(res, "llmsim")
	res.add("chatload CPU (avg over the phase)", fmt.Sprintf("%.0f%% of one core", 100*float64(selfEnd-selfStart)/float64(wall)))
	res.note("the extra-gap verdict uses a quarter of GoModel's figure (about 65 ms) as \"far below\"")
	for _, p := range problems {
		res.note("%s", p)
	}
	res.lossFailures = int(lost)
	return res, nil
}

// runAll runs fn(0..n-1) all at once, each after its delay, and returns the
// first error once all have returned.
func runAll(ctx context.Context, n int, delay func(int) time.Duration, fn func(ctx context.Context, i int) error) error {
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if d := delay(i) - time.Since(start); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return
				}
			}
			if err := fn(ctx, i); err != nil {
				once.Do(func() { first = err })
			}
		}()
	}
	wg.Wait()
	return first
}

// peakOverlap is the largest number of intervals open at one instant.
func peakOverlap(spans [][2]time.Time) int {
	type edge struct {
		at   time.Time
		open int
	}
	edges := make([]edge, 0, 2*len(spans))
	for _, s := range spans {
		if s[0].IsZero() {
			continue
		}
		edges = append(edges, edge{s[0], 1}, edge{s[1], -1})
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.open - b.open // close before open at the same instant
	})
	cur, peak := 0, 0
	for _, e := range edges {
		cur += e.open
		peak = max(peak, cur)
	}
	return peak
}

func flatten(all [][]time.Duration) []time.Duration {
	total := 0
	for _, a := range all {
		total += len(a)
	}
	out := make([]time.Duration, 0, total)
	for _, a := range all {
		out = append(out, a...)
	}
	return out
}
