package telemetry

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
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

// chatd is one running chatd process.
type chatd struct {
	URL    string
	cmd    *exec.Cmd
	output *harness.OutputBuffer // stdout and stderr: the JSON logs
	done   chan struct{}
}

// startChatd serves on a free loopback port with a fresh SQLite database, the
// test's environment less any CHAT_* or OTEL_* variable, plus env; it waits
// for /api/v1/health. The process is killed, if still running, when the test
// ends, and its logs are shown if the test failed.
func startChatd(t *testing.T, env map[string]string) *chatd {
	t.Helper()
	dir := t.TempDir()
	addr := harness.FreeAddr(t)
	vars := map[string]string{
		"CHAT_HTTP_ADDR":       addr,
		"CHAT_DATABASE_URL":    "sqlite://" + filepath.Join(dir, "chat.db"),
		"CHAT_JWT_SECRET":      "telemetry-test-secret-0123456789abcdef0123456789",
		"CHAT_LOG_FORMAT":      "json",
		"CHAT_LOG_LEVEL":       "info",
		"CHAT_RATE_LIMIT_API":  "0",
		"CHAT_RATE_LIMIT_AUTH": "0",
		"CHAT_RATE_LIMIT_LLM":  "0",
	}
	for k, v := range env {
		vars[k] = v
	}
	var environ []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CHAT_") && !strings.HasPrefix(kv, "OTEL_") {
			environ = append(environ, kv)
		}
	}
	for k, v := range vars {
		environ = append(environ, k+"="+v)
	}
	cmd := exec.Command(chatdBin, "serve") //nolint:noctx // the process is ended by signal or Kill below
	cmd.Env, cmd.Dir = environ, dir
	p := &chatd{URL: "http://" + addr, cmd: cmd, output: &harness.OutputBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.output, p.output
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chatd: %v", err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("chatd output:\n%s", p.output.String())
		}
	})
	p.waitHealthy(t)
	return p
}

func (p *chatd) waitHealthy(t *testing.T) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, p.URL+"/api/v1/health", nil)
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				client.CloseIdleConnections()
				return
			}
		}
		select {
		case <-p.done:
			t.Fatalf("chatd exited before answering:\n%s", p.output.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("chatd did not answer /api/v1/health within 30s")
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// stop sends SIGTERM and expects a clean exit.
func (p *chatd) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("chatd still running 30s after SIGTERM")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("chatd exited %d after SIGTERM, want 0", code)
	}
}

// logLines are the JSON lines chatd logged so far.
func (p *chatd) logLines(t *testing.T) []map[string]any {
	t.Helper()
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(p.output.String()))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil {
			lines = append(lines, line)
		}
	}
	return lines
}

// client calls chatd's API as one user.
type client struct {
	t     *testing.T
	base  string
	token string
	http  *http.Client
}

func newClient(t *testing.T, p *chatd) *client {
	c := &client{t: t, base: p.URL, http: &http.Client{Timeout: 30 * time.Second}}
	t.Cleanup(c.http.CloseIdleConnections)
	return c
}

// call sends body as JSON with the extra headers, expects status and decodes
// the answer into out (when not nil).
func (c *client) call(method, path string, body any, status int, out any, header ...string) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, status, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
}

// register signs a new user up and keeps its access token.
func (c *client) register(email, password string) {
	c.t.Helper()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	c.call(http.MethodPost, "/api/v1/auth/register",
		map[string]any{"email": email, "password": password, "display_name": "Tracy"}, http.StatusCreated, &out)
	c.token = out.AccessToken
}
