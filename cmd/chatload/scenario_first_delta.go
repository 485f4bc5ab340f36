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

// runFirstDelta measures POST -> first message.delta at an SSE subscriber
// (the poster itself, Accept: text/event-stream), and in the same run the
// same client asking llmsim directly for the same completion; it reports
// both and chatd minus direct, matched by percentile.
func runFirstDelta(ctx context.Context, e *env, args []string) (*result, error) {
	fs := flag.NewFlagSet("chatload first-delta", flag.ContinueOnError)
	n := fs.Int("n", 300, "measured posts (each also measured on the direct path)")
	warmup := fs.Int("warmup", 20, "posts before measuring, discarded")
	conc := fs.Int("c", 1, "posts in flight at once (one user each)")
	ttft := fs.Duration("ttft", 100*time.Millisecond, "llmsim's time to first token")
	tokens := fs.Int("tokens", 5, "reply length (the stream is read to its end)")
	perSession := fs.Int("per-session", 25, "posts per session before a fresh one (keeps the history sent upstream short)")
	if err := e.parse(fs, args); err != nil {
		return nil, err
	}
	if *n < 1 || *conc < 1 || *tokens < 1 || *perSession < 1 || *warmup < 0 {
		return nil, errors.New("-n, -c, -tokens and -per-session must be at least 1")
	}
	ctx, cancel := e.withTimeout(ctx)
	defer cancel()

	res := &result{scenario: e.label("first-delta"),
		params: fmt.Sprintf("n=%d warmup=%d c=%d ttft=%s tokens=%d", *n, *warmup, *conc, *ttft, *tokens)}
	users, err := e.api.registerUsers(ctx, e.runID, e.common.password, *conc)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	model := simModel(*tokens, 0, *ttft)
	total := *warmup + *n
	viaChatd := make([]time.Duration, total)
	starts := make([]time.Time, total)
	contents := make([]string, total)
	direct := make([]time.Duration, total)
	var (
		next     atomic.Int64
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
	e.progress("first-delta: %d posts (+%d warm-up), %d at a time, llmsim ttft %s", *n, *warmup, *conc, *ttft)
	e.common.prof.cpu(e.label("first-delta"))
	err = forEach(ctx, *conc, *conc, func(ctx context.Context, w int) error {
		u := users[w]
		var sessionID string
		for done := 0; ; done++ {
			i := int(next.Add(1) - 1)
			if i >= total {
				return nil
			}
			if done%*perSession == 0 {
				id, err := e.api.createSession(ctx, u.token, e.common.provider, model)
				if err != nil {
					return fmt.Errorf("create session: %w", err)
				}
				sessionID = id
			}
			content := fmt.Sprintf("first delta probe %d of run %s", i, e.runID)
			expected := llmsim.ExpectedReply(content, *tokens)
			viaChatdOnce := func() error {
				t, err := sseTurn(ctx, e.api, u.token, sessionID, content, "", expected, false)
				if err != nil {
					return fmt.Errorf("post %d: %w", i, err)
				}
				if !t.check.ok() {
					report("post %d: %s", i, t.check.problem())
				}
				viaChatd[i], starts[i], contents[i] = t.first, t.start, content
				return nil
			}
			directOnce := func() error {
				d, err := streamDirect(ctx, e.http, e.common.llmsim, model, content, false)
				if err != nil {
					return fmt.Errorf("direct %d: %w", i, err)
				}
				direct[i] = d.first
				return nil
			}
			// Alternate which path goes first, so neither always runs on a
			// warmer machine.
			steps := []func() error{viaChatdOnce, directOnce}
			if i%2 == 1 {
				steps[0], steps[1] = steps[1], steps[0]
			}
			for _, step := range steps {
				if err := step(); err != nil {
					return err
				}
			}
		}
	})
	if err != nil {
		return res, err
	}

	c, d := newDist(viaChatd[*warmup:]), newDist(direct[*warmup:])
	res.add("chatd: POST -> first delta (SSE)", c.quantiles())
	res.add("direct: POST -> first chunk (llmsim)", d.quantiles())
	diff := func(q float64) time.Duration { return c.q(q) - d.q(q) }
	res.judge("chatd - direct, p50", msSigned(diff(.5)), "<= 1 ms", diff(.5) <= time.Millisecond)
	res.add("chatd - direct, p90", msSigned(diff(.9)))
	res.judge("chatd - direct, p99", msSigned(diff(.99)), "<= 3 ms", diff(.99) <= 3*time.Millisecond)
	res.add("chatd - direct, max", msSigned(c.max()-d.max()))
	if e.sim != nil {
		before, after := splitAtUpstream(e.sim.Requests(), starts[*warmup:], contents[*warmup:], viaChatd[*warmup:], *ttft)
		res.add("chatd: POST -> upstream request at llmsim", before.quantiles())
		res.add("chatd: upstream first token -> first delta at the client", after.quantiles())
	}
	res.judge("replies whole and in order", fmt.Sprintf("%d of %d", int64(total)-failures.Load(), total),
		"all", failures.Load() == 0)
	res.note("GoModel (a Go LLM gateway that stores nothing) adds ~1.1 ms p50 on the reference 2-core machine")
	for _, p := range problems {
		res.note("%s", p)
	}
	res.lossFailures = int(failures.Load())
	return res, nil
}

// splitAtUpstream divides each chatd post's time to first delta at the
// moment the in-process llmsim received chatd's request (matched by the
// post's content): the part before is chatd's (and the network's) work
// before calling upstream, the part after, less llmsim's time to first
// token, is the relay of the first token.
func splitAtUpstream(reqs []llmsim.Request, starts []time.Time, contents []string, firsts []time.Duration,
	ttft time.Duration) (before, after dist) {
	received := make(map[string]time.Time, len(reqs))
	for _, r := range reqs {
		if r.Header.Get("User-Agent") != "chatd" || len(r.Messages) == 0 {
			continue
		}
		received[r.Messages[len(r.Messages)-1].Content] = r.Received
	}
	var b, a []time.Duration
	for i, c := range contents {
		at, ok := received[c]
		if !ok || starts[i].IsZero() {
			continue
		}
		pre := at.Sub(starts[i])
		b = append(b, pre)
		a = append(a, firsts[i]-pre-ttft)
	}
	return newDist(b), newDist(a)
}
