package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// runRest is HTTP load on one route at C concurrent keep-alive connections
// for D seconds, each connection with one request in flight (wrk's model):
// requests per second, latency quantiles and the non-2xx answers. Routes:
//
//	messages   GET /api/v1/chat/sessions/{id}/messages?page_size=50 on a session seeded with
//	           -seed messages by its owner, asked by -users users who are all participants
//	sessions   POST /api/v1/chat/sessions (each request creates a session)
//
// The client is kept lean, for it shares the cores with chatd: one request
// value per connection reused for every call, the body bytes reused, the
// answer drained without decoding.
func runRest(ctx context.Context, e *env, args []string) (*result, error) {
	fs := flag.NewFlagSet("chatload rest", flag.ContinueOnError)
	route := fs.String("route", "messages", "messages (GET a page of a seeded session's messages) or sessions (POST /chat/sessions)")
	conc := fs.Int("c", 64, "concurrent connections, one request in flight on each")
	dur := fs.Duration("d", 10*time.Second, "measured duration")
	warmup := fs.Duration("warmup", time.Second, "load before the measured part, not counted")
	nUsers := fs.Int("users", 4, "users the requests are spread over (messages: the owner and participants of the session)")
	seed := fs.Int("seed", 100, "messages posted to the session before the load (messages route)")
	pageSize := fs.Int("page-size", 50, "page_size of the GET (messages route)")
	if err := e.parse(fs, args); err != nil {
		return nil, err
	}
	if *conc < 1 || *dur <= 0 || *warmup < 0 || *nUsers < 1 || *seed < 0 || *pageSize < 1 {
		return nil, errors.New("-c, -users and -page-size must be at least 1, -d above 0, -warmup and -seed not negative")
	}
	if *route != "messages" && *route != "sessions" {
		return nil, fmt.Errorf("-route %q: want messages or sessions", *route)
	}
	ctx, cancel := e.withTimeout(ctx)
	defer cancel()
	name := e.label("rest-" + *route)
	res := &result{scenario: name, params: fmt.Sprintf("route=%s c=%d d=%s warmup=%s users=%d", *route, *conc, *dur, *warmup, *nUsers)}

	users, err := e.api.registerUsers(ctx, e.runID, e.common.password, *nUsers)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	var method, url string
	var body []byte
	switch *route {
	case "messages":
		res.params += fmt.Sprintf(" seed=%d page_size=%d", *seed, *pageSize)
		sessionID, err := seedSession(ctx, e, users, *seed)
		if err != nil {
			return nil, err
		}
		method = http.MethodGet
		url = fmt.Sprintf("%s/api/v1/chat/sessions/%s/messages?page_size=%d", e.common.chatd, sessionID, *pageSize)
		if err := checkPage(ctx, e.http, url, users[len(users)-1].token, min(*seed, *pageSize)); err != nil {
			return nil, err
		}
	case "sessions":
		method = http.MethodPost
		url = e.common.chatd + "/api/v1/chat/sessions"
		body, _ = json.Marshal(map[string]string{"title": "rest load", "llm_provider": e.common.provider, "llm_model": simModel(5, 0, 0)})
	}

	client := restClient(*conc)
	defer client.CloseIdleConnections()
	workers := make([]*restWorker, *conc)
	for i := range workers {
		w := &restWorker{client: client, body: body, non2xx: map[int]int{}, lat: make([]time.Duration, 0, 1<<14)}
		w.req, err = http.NewRequestWithContext(ctx, method, url, nil)
		if err != nil {
			return nil, err
		}
		w.req.Header.Set("Authorization", "Bearer "+users[i%len(users)].token)
		if body != nil {
			w.req.Header.Set("Content-Type", "application/json")
			w.req.ContentLength = int64(len(body))
			w.req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		}
		workers[i] = w
	}
	e.progress("%s: %s %s at %d connections, %s warm-up + %s", name, method, strings.TrimPrefix(url, e.common.chatd), *conc, *warmup, *dur)
	from := time.Now().Add(*warmup)
	to := from.Add(*dur)
	var wg sync.WaitGroup
	var smp *sampler
	var selfStart time.Duration
	var startOnce sync.Once
	measureStart := func() {
		startOnce.Do(func() {
			smp = startSampler(e.common.pid, 250*time.Millisecond)
			e.common.prof.cpu(name)
			selfStart = selfCPU()
		})
	}
	timer := time.AfterFunc(*warmup, measureStart)
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(ctx, from, to)
		}()
	}
	wg.Wait()
	timer.Stop()
	measureStart() // when the warm-up outlasted the run (a cancelled context)
	selfEnd := selfCPU()
	smp.finish()
	e.common.prof.heap(name)
	wall := time.Since(from)

	var (
		lat     []time.Duration
		non2xx  = map[int]int{}
		errs    int
		lastErr error
		bad     int
	)
	for _, w := range workers {
		lat = append(lat, w.lat...)
		for s, c := range w.non2xx {
			non2xx[s] += c
			bad += c
		}
		errs += w.errs
		if w.lastErr != nil {
			lastErr = w.lastErr
		}
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	d := newDist(lat)
	rate := float64(d.n()) / dur.Seconds()
	switch *route {
	case "messages":
		res.judge("requests per second", fmt.Sprintf("%.0f/s (%d in %s)", rate, d.n(), *dur), ">= 6000/s", rate >= 6000)
		res.judge("latency p99", ms(d.q(.99)), "<= 20 ms", d.q(.99) <= 20*time.Millisecond)
	case "sessions":
		res.judge("requests per second", fmt.Sprintf("%.0f/s (%d in %s)", rate, d.n(), *dur), ">= 5000/s", rate >= 5000)
		res.add("latency p99", ms(d.q(.99)))
	}
	res.add("latency", d.quantiles())
	res.judge("non-2xx answers", describeCounts(bad, non2xx, ""), "0", bad == 0)
	if errs > 0 {
		res.judge("transport errors", fmt.Sprintf("%d (last: %v)", errs, lastErr), "0", false)
	}
	smp.report(res, "chatd")
	res.add("chatload CPU (avg over the phase)", fmt.Sprintf("%.0f%% of one core", 100*float64(selfEnd-selfStart)/float64(wall)))
	res.note("requests counted when they started within the measured %s; latency is send -> answer drained", *dur)
	return res, nil
}

// restClient is a keep-alive pool of exactly c connections.
func restClient(c int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        c,
		MaxIdleConnsPerHost: c,
		MaxConnsPerHost:     c,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ReadBufferSize:      32 << 10,
		WriteBufferSize:     4 << 10,
	}}
}

// restWorker is one connection's loop.
type restWorker struct {
	client  *http.Client
	req     *http.Request
	body    []byte
	rd      bytes.Reader
	lat     []time.Duration
	non2xx  map[int]int
	errs    int
	lastErr error
}

// run sends requests back to back until one would start at or after to;
// those started in [from, to) are counted.
func (w *restWorker) run(ctx context.Context, from, to time.Time) {
	for ctx.Err() == nil {
		t := time.Now()
		if !t.Before(to) {
			return
		}
		if w.body != nil {
			w.rd.Reset(w.body)
			w.req.Body = io.NopCloser(&w.rd)
		}
		resp, err := w.client.Do(w.req)
		if err != nil {
			w.errs++
			w.lastErr = err
			time.Sleep(10 * time.Millisecond)
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		took := time.Since(t)
		if t.Before(from) {
			continue
		}
		w.lat = append(w.lat, took)
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			w.non2xx[resp.StatusCode]++
		}
	}
}

// seedSession creates a session owned by users[0], adds the others as
// members and posts n messages to it (no reply: process_llm false).
func seedSession(ctx context.Context, e *env, users []user, n int) (string, error) {
	owner := users[0]
	sessionID, err := e.api.createSession(ctx, owner.token, e.common.provider, simModel(5, 0, 0))
	if err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	for _, u := range users[1:] {
		body := map[string]string{"email": u.email, "role": "member"}
		if err := e.api.do(ctx, http.MethodPost, "/api/v1/chat/sessions/"+sessionID+"/participants", owner.token, body, nil,
			http.StatusCreated); err != nil {
			return "", fmt.Errorf("add participant: %w", err)
		}
	}
	e.progress("rest: seeding %d messages", n)
	for i := range n {
		body := map[string]any{"content": fmt.Sprintf("message %d of load run %s: some words to make it a typical short chat line", i, e.runID),
			"process_llm": false}
		if err := e.api.do(ctx, http.MethodPost, "/api/v1/chat/sessions/"+sessionID+"/messages", owner.token, body, nil,
			http.StatusCreated); err != nil {
			return "", fmt.Errorf("seed message %d: %w", i, err)
		}
	}
	return sessionID, nil
}

// checkPage asks for the page once, as a participant, and checks it holds
// want messages.
func checkPage(ctx context.Context, client *http.Client, url, token string, want int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("GET the page as a participant: %d %s", resp.StatusCode, b)
	}
	var out struct {
		Messages []json.RawMessage `json:"messages"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return fmt.Errorf("GET the page: %w", err)
	}
	if len(out.Messages) != want {
		return fmt.Errorf("GET the page: %d messages, want %d", len(out.Messages), want)
	}
	return nil
}

// describeCounts renders a count with its breakdown by status or close
// code: "3 (503 x2, 500 x1)"; prefix goes before the first key.
func describeCounts(n int, counts map[int]int, prefix string) string {
	if n == 0 {
		return "0"
	}
	keys := make([]int, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d x%d", k, counts[k])
	}
	return fmt.Sprintf("%d (%s%s)", n, prefix, strings.Join(parts, ", "))
}
