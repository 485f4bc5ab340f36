package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/chatd/chatd/internal/llmsim"
)

// commonFlags are the flags every scenario takes.
type commonFlags struct {
	chatd    string   // the first (or only) chatd: the API, the POSTs, /metrics
	chatds   []string // every chatd process of the service (fanout, fanout-latency)
	chatdArg urlList
	llmsim   string
	startSim string
	pid      int   // the first chatd's process id (0: none)
	pids     []int // one per chatd process, when given
	pidArg   pidList
	simPid   int
	timeout  time.Duration
	summary  string
	provider string
	password string
	quiet    bool
	label    string
	prof     profiler
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	c.chatdArg = urlList{urls: []string{"http://127.0.0.1:8000"}}
	fs.Var(&c.chatdArg, "chatd", "chatd's root URL (the API is under /api/v1); fanout and fanout-latency take several processes of one "+
		"service, comma-separated or repeated: subscribers are spread round-robin over them and every POST goes to the first")
	fs.StringVar(&c.llmsim, "llmsim", "http://127.0.0.1:11434", "llmsim's root URL, for the direct path (the API is under /v1)")
	fs.StringVar(&c.startSim, "start-llmsim", "", "start an in-process llmsim on this address (chatd's LOCAL base URL must point at it); sets -llmsim and lets first-delta split chatd's time before and after its upstream call")
	fs.Var(&c.pidArg, "pid", "chatd's process id, to sample its CPU and RSS from /proc (0: from /metrics only); with several -chatd URLs, "+
		"one per process in the same order, comma-separated or repeated")
	fs.IntVar(&c.simPid, "llmsim-pid", 0, "llmsim's process id, to report its CPU (0: not reported)")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Minute, "hard bound on the whole scenario")
	fs.StringVar(&c.summary, "summary", "", "append the results as Markdown table rows to this file")
	fs.StringVar(&c.provider, "provider", "LOCAL", "llm_provider of the sessions (chatd's LOCAL base URL must be llmsim)")
	fs.StringVar(&c.password, "password", "load-test password", "password of the users chatload registers")
	fs.BoolVar(&c.quiet, "q", false, "no progress lines on stderr")
	fs.StringVar(&c.label, "label", "", "name of the run in the results and profile files (default: the scenario's)")
	c.prof.register(fs)
}

// env is what a scenario runs with: the parsed common flags, the clients and
// the outputs.
type env struct {
	common commonFlags
	// spread is set by the scenarios that take several chatd processes.
	spread bool
	stdout io.Writer
	stderr io.Writer
	api    *api
	http   *http.Client
	sim    *llmsim.Server
	runID  string
}

// parse parses a scenario's flags (registered on fs by the caller, plus the
// common ones) and prepares the clients.
func (e *env) parse(fs *flag.FlagSet, args []string) error {
	e.common.register(fs)
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	e.common.chatds = e.common.chatdArg.urls
	e.common.chatd = e.common.chatds[0]
	e.common.pids = e.common.pidArg.pids
	if len(e.common.pids) > 0 {
		e.common.pid = e.common.pids[0]
	}
	if !e.spread && len(e.common.chatds) > 1 {
		return fmt.Errorf("this scenario takes one -chatd URL, not %d (fanout and fanout-latency take several)", len(e.common.chatds))
	}
	if !e.spread && len(e.common.pids) > 1 {
		return fmt.Errorf("this scenario takes one -pid, not %d", len(e.common.pids))
	}
	if len(e.common.pids) > 1 && len(e.common.pids) != len(e.common.chatds) {
		return fmt.Errorf("%d process ids for %d chatd URLs: give one per URL, in the same order", len(e.common.pids), len(e.common.chatds))
	}
	if e.common.startSim != "" {
		// Recording on: first-delta reads when each upstream request arrived.
		e.sim = llmsim.New(llmsim.Options{})
		url, err := e.sim.Start(e.common.startSim)
		if err != nil {
			return fmt.Errorf("start llmsim: %w", err)
		}
		e.common.llmsim = url
	}
	e.common.llmsim = strings.TrimRight(e.common.llmsim, "/")
	e.http = newHTTPClient()
	e.common.prof.client = e.http
	e.api = &api{base: e.common.chatd, http: e.http}
	e.runID = fmt.Sprintf("%x", time.Now().UnixNano())
	return nil
}

func (e *env) close() {
	e.common.prof.done(e.stderr)
	if e.http != nil {
		e.http.CloseIdleConnections()
	}
	if e.sim != nil {
		e.sim.Close()
	}
}

// label is the run's name in results and profile files.
func (e *env) label(scenario string) string {
	if e.common.label != "" {
		return e.common.label
	}
	return scenario
}

// progress writes a progress line on stderr unless -q.
func (e *env) progress(format string, args ...any) {
	if !e.common.quiet {
		fmt.Fprintf(e.stderr, "  "+format+"\n", args...)
	}
}

// withTimeout bounds the scenario by -timeout.
func (e *env) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, e.common.timeout)
}

// newHTTPClient is one pool for every request of the run: keep-alive on,
// no limit on connections per host (thousands of streams at once), no
// compression, no overall timeout (streams are bounded by their context).
func newHTTPClient() *http.Client {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   8192,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ResponseHeaderTimeout: 60 * time.Second,
		ReadBufferSize:        16 << 10,
		WriteBufferSize:       4 << 10,
	}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// simModel is an llmsim model name with directives.
func simModel(tokens int, tps float64, ttft time.Duration) string {
	return fmt.Sprintf("sim-small+tokens=%d+tps=%g+ttft=%s", tokens, tps, ttft)
}
