package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/adapters/storage/storagetest"
	"github.com/chatd/chatd/test/harness"
)

// testJWTSecret is the key every process of a cluster shares: a token issued
// by one is accepted by all.
const testJWTSecret = "cluster-test-secret-0123456789abcdef0123456789"

// cluster is one chatd service: a fresh PostgreSQL database, a private
// broker, one upstream and the processes serving them, all started with the
// same settings.
type cluster struct {
	t      *testing.T
	dir    string
	env    map[string]string
	broker *broker
	up     *upstream

	mu    sync.Mutex
	procs map[string]*chatd // the latest process started under each name
}

// newCluster prepares the service and starts a process for each name
// (usually A, B and C) after `chatd migrate up` has run once. extra adds or
// overrides settings for every process.
func newCluster(t *testing.T, extra map[string]string, names ...string) *cluster {
	t.Helper()
	requireCluster(t)
	dbURL := storagetest.FreshPostgresURL(t)
	c := &cluster{t: t, dir: t.TempDir(), procs: map[string]*chatd{}}
	c.broker = startBroker(t)
	c.up = startUpstream(t)
	c.env = map[string]string{
		"CHAT_DATABASE_URL":    dbURL,
		"CHAT_BROKER_URL":      c.broker.URL(),
		"CHAT_JWT_SECRET":      testJWTSecret,
		"CHAT_LOG_LEVEL":       "info",
		"CHAT_LOG_FORMAT":      "json",
		"CHAT_RATE_LIMIT_API":  "0",
		"CHAT_RATE_LIMIT_AUTH": "0",
		"CHAT_RATE_LIMIT_LLM":  "0",
	}
	for k, v := range extra {
		c.env[k] = v
	}
	if _, code := c.run("migrate", "", "migrate", "up"); code != 0 {
		t.Fatalf("chatd migrate up exited %d", code)
	}
	for _, name := range names {
		c.start(name)
	}
	return c
}

// proc is the latest process started as name.
func (c *cluster) proc(name string) *chatd {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.procs[name]
	if !ok {
		c.t.Fatalf("no process %s was started", name)
	}
	return p
}

// environ is a process's environment: the test's own without any CHAT_*
// variable it may carry, plus the cluster's settings and extra.
func (c *cluster) environ(extra map[string]string) []string {
	merged := map[string]string{}
	for k, v := range c.env {
		merged[k] = v
	}
	for k, v := range extra {
		merged[k] = v
	}
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CHAT_") {
			out = append(out, kv)
		}
	}
	for k, v := range merged {
		if v != "" {
			out = append(out, k+"="+v)
		}
	}
	sort.Strings(out)
	return out
}

// chatd is one running (or finished) chatd process.
type chatd struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdout *harness.OutputBuffer
	stderr *harness.OutputBuffer
	URL    string // http://host:port, for serve processes

	// draining is set just before the test stops the process on purpose, so
	// that clients can tell an expected close from a surprise.
	draining atomic.Bool

	done    chan struct{} // closed when the process has exited
	exitErr error
}

// spawn starts chatd with args, without waiting for anything. The process is
// killed, if still running, when the test ends, and its output is shown when
// the test failed.
func (c *cluster) spawn(name, stdin string, extra map[string]string, args ...string) *chatd {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, chatdBin, args...)
	cmd.Env = c.environ(extra)
	cmd.Dir = c.dir
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	p := &chatd{t: c.t, name: name, cmd: cmd, stdout: &harness.OutputBuffer{}, stderr: &harness.OutputBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		cancel()
		c.t.Fatalf("start chatd %s: %v", name, err)
	}
	go func() {
		p.exitErr = cmd.Wait()
		close(p.done)
	}()
	c.t.Cleanup(func() {
		if p.running() {
			_ = cmd.Process.Kill()
		}
		<-p.done
		cancel()
		if c.t.Failed() {
			c.t.Logf("--- chatd %s (%s) output:\n%s%s", name, strings.Join(args, " "),
				tail(p.stdout.String(), 2000), tail(p.stderr.String(), 8000))
		}
	})
	return p
}

// start serves a process called name on a free loopback port and waits until
// /api/v1/health answers 200. Starting a name again (after a stop) replaces
// the process the cluster knows under that name.
func (c *cluster) start(name string) *chatd {
	c.t.Helper()
	p, err := c.tryStart(name)
	if err != nil {
		c.t.Fatal(err)
	}
	return p
}

// tryStart is start without failing the test, for goroutines.
func (c *cluster) tryStart(name string) (*chatd, error) {
	for attempt := 1; ; attempt++ {
		addr := harness.FreeAddr(c.t)
		p := c.spawn(name, "", map[string]string{
			"CHAT_HTTP_ADDR":      addr,
			"CHAT_LOCAL_BASE_URL": c.up.urlFor(name),
		}, "serve")
		p.URL = "http://" + addr
		err := p.waitHealthy(60 * time.Second)
		if err == nil {
			c.mu.Lock()
			c.procs[name] = p
			c.mu.Unlock()
			return p, nil
		}
		// Another program may have taken the port between the probe and
		// chatd's bind: try another one.
		if attempt < 3 && !p.running() && strings.Contains(p.stderr.String(), "address already in use") {
			continue
		}
		return nil, fmt.Errorf("chatd %s did not become healthy: %w\n%s", name, err, tail(p.stderr.String(), 3000))
	}
}

// run runs a chatd command to its end and returns its output and exit code.
func (c *cluster) run(name, stdin string, args ...string) (string, int) {
	c.t.Helper()
	p := c.spawn(name, stdin, nil, args...)
	code, err := p.waitExit(60 * time.Second)
	if err != nil {
		c.t.Fatalf("chatd %s: %v", strings.Join(args, " "), err)
	}
	if code != 0 {
		c.t.Logf("chatd %s exited %d:\n%s%s", strings.Join(args, " "), code, tail(p.stdout.String(), 2000), tail(p.stderr.String(), 4000))
	}
	return p.stdout.String(), code
}

func (p *chatd) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// waitHealthy polls GET /api/v1/health until it answers 200.
func (p *chatd) waitHealthy(timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(timeout)
	for {
		if !p.running() {
			return fmt.Errorf("exited (%s) before answering", p.cmd.ProcessState)
		}
		if status, err := getStatus(client, p.URL+"/api/v1/health"); err == nil && status == http.StatusOK {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no 200 from /api/v1/health within %v", timeout)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// signal sends sig to the process.
func (p *chatd) signal(sig os.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %v to chatd %s: %w", sig, p.name, err)
	}
	return nil
}

// kill ends the process with SIGKILL and waits until it is gone.
func (p *chatd) kill() {
	p.t.Helper()
	if err := p.signal(syscall.SIGKILL); err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.waitExit(10 * time.Second); err != nil {
		p.t.Fatal(err)
	}
}

// waitExit waits for the process to end and returns its exit code (-1 when
// a signal ended it).
func (p *chatd) waitExit(timeout time.Duration) (int, error) {
	select {
	case <-p.done:
	case <-time.After(timeout):
		return 0, fmt.Errorf("chatd %s still running after %v", p.name, timeout)
	}
	var exit *exec.ExitError
	if p.exitErr != nil && !errors.As(p.exitErr, &exit) {
		return 0, fmt.Errorf("chatd %s: wait: %w", p.name, p.exitErr)
	}
	return p.cmd.ProcessState.ExitCode(), nil
}

func getStatus(client *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// eventually polls cond until it holds or timeout passes; cond says what it
// saw, for the failure message.
func eventually(timeout time.Duration, cond func() (bool, string)) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		ok, saw := cond()
		if ok {
			return saw, nil
		}
		if time.Now().After(deadline) {
			return saw, fmt.Errorf("not within %v; last seen: %s", timeout, saw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// untilOr is the time left before deadline, but at least a few seconds: a
// wait that shares a deadline with earlier ones still gets a fair chance.
func untilOr(deadline time.Time) time.Duration {
	return max(time.Until(deadline), 3*time.Second)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "[...]\n" + s[len(s)-n:]
}

// clip shortens s for a message, keeping both ends.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n/2] + "…" + s[len(s)-n/2:]
}
