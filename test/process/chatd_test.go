package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/test/harness"
)

// testJWTSecret is the key the tests give chatd unless a test is about the key.
const testJWTSecret = "process-test-secret-0123456789abcdef0123456789"

// deployment is one chatd installation: a data directory with its SQLite
// database and the environment every process of it runs with. Processes
// started from the same deployment share the database (a restart).
type deployment struct {
	t   *testing.T
	dir string
	env map[string]string
}

// newDeployment prepares a deployment whose LOCAL provider is upstream (a
// base URL ending in /v1; empty leaves the default).
func newDeployment(t *testing.T, upstream string) *deployment {
	t.Helper()
	dir := t.TempDir()
	d := &deployment{t: t, dir: dir, env: map[string]string{
		"CHAT_DATABASE_URL":    "sqlite://" + filepath.Join(dir, "chat.db"),
		"CHAT_JWT_SECRET":      testJWTSecret,
		"CHAT_LOG_LEVEL":       "info",
		"CHAT_LOG_FORMAT":      "json",
		"CHAT_RATE_LIMIT_API":  "0",
		"CHAT_RATE_LIMIT_AUTH": "0",
		"CHAT_RATE_LIMIT_LLM":  "0",
	}}
	if upstream != "" {
		d.env["CHAT_LOCAL_BASE_URL"] = upstream
	}
	return d
}

// environ is the process environment: the test's own, without any CHAT_*
// variable it may carry, plus the deployment's and extra (an empty value
// removes a variable).
func (d *deployment) environ(extra map[string]string) []string {
	merged := map[string]string{}
	for k, v := range d.env {
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
	return out
}

// chatd is one running (or finished) chatd process.
type chatd struct {
	t       *testing.T
	name    string
	cmd     *exec.Cmd
	stdout  *harness.OutputBuffer
	stderr  *harness.OutputBuffer
	addr    string // host:port it was told to serve on, for serve processes
	URL     string // http://addr
	started time.Time

	done    chan struct{} // closed when the process has exited
	exitErr error
}

// spawn starts chatd with args and extra environment, without waiting for
// anything. The process is killed, if still running, when the test ends, and
// its output is shown when the test failed.
func (d *deployment) spawn(name string, stdin string, extra map[string]string, args ...string) *chatd {
	d.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, chatdBin, args...)
	cmd.Env = d.environ(extra)
	cmd.Dir = d.dir
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	p := &chatd{t: d.t, name: name, cmd: cmd, stdout: &harness.OutputBuffer{}, stderr: &harness.OutputBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		cancel()
		d.t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.exitErr = cmd.Wait()
		close(p.done)
	}()
	d.t.Cleanup(func() {
		if p.running() {
			_ = cmd.Process.Kill()
		}
		<-p.done
		cancel()
		if d.t.Failed() {
			d.t.Logf("--- %s (%s) stdout:\n%s", name, strings.Join(args, " "), tail(p.stdout.String(), 4000))
			d.t.Logf("--- %s (%s) stderr:\n%s", name, strings.Join(args, " "), tail(p.stderr.String(), 20000))
		}
	})
	return p
}

// start serves on a free loopback port and waits until /api/v1/health
// answers 200. args come before "serve" (settings as flags).
func (d *deployment) start(name string, extra map[string]string, args ...string) *chatd {
	d.t.Helper()
	for attempt := 1; ; attempt++ {
		addr := harness.FreeAddr(d.t)
		env := map[string]string{"CHAT_HTTP_ADDR": addr}
		for k, v := range extra {
			env[k] = v
		}
		p := d.spawn(name, "", env, append(append([]string{}, args...), "serve")...)
		p.addr, p.URL = addr, "http://"+addr
		err := p.waitHealthy(30 * time.Second)
		if err == nil {
			return p
		}
		// Another program may have taken the port between our probe and
		// chatd's bind: try another one.
		if attempt < 3 && !p.running() && strings.Contains(p.stderr.String(), "address already in use") {
			continue
		}
		d.t.Fatalf("%s did not become healthy: %v", name, err)
	}
}

// run runs a chatd command to its end and returns its exit code.
func (d *deployment) run(name, stdin string, extra map[string]string, args ...string) (*chatd, int) {
	d.t.Helper()
	p := d.spawn(name, stdin, extra, args...)
	code, err := p.waitExit(60 * time.Second)
	if err != nil {
		d.t.Fatalf("%s: %v", name, err)
	}
	return p, code
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
func (p *chatd) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v to %s: %v", sig, p.name, err)
	}
}

// waitExit waits for the process to end and returns its exit code (-1 when
// a signal ended it).
func (p *chatd) waitExit(timeout time.Duration) (int, error) {
	select {
	case <-p.done:
	case <-time.After(timeout):
		return 0, fmt.Errorf("%s still running after %v", p.name, timeout)
	}
	var exit *exec.ExitError
	if p.exitErr != nil && !errors.As(p.exitErr, &exit) {
		return 0, fmt.Errorf("%s: wait: %w", p.name, p.exitErr)
	}
	return p.cmd.ProcessState.ExitCode(), nil
}

// stop sends SIGTERM and expects a clean exit within timeout.
func (p *chatd) stop(timeout time.Duration) {
	p.t.Helper()
	p.signal(syscall.SIGTERM)
	code, err := p.waitExit(timeout)
	if err != nil {
		p.t.Fatalf("stop: %v", err)
	}
	if code != 0 {
		p.t.Fatalf("%s exited %d after SIGTERM, want 0", p.name, code)
	}
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

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "[...]\n" + s[len(s)-n:]
}
