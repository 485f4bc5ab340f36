// Package bench holds chatd's relay micro-benchmarks: the real fx graph
// (bootstrap.Options, as `chatd serve` builds it) on loopback, fed by an
// in-process llmsim, read by real HTTP/SSE and WebSocket clients. Every
// figure has a direct twin (the same client reading llmsim itself), so
// "what chatd adds" is one subtraction. It also holds TestServeChatdWithPprof,
// the chatd build with net/http/pprof that scripts/bench.sh profiles.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/adapters/auth"
	"github.com/chatd/chatd/internal/adapters/bootstrap"
	"github.com/chatd/chatd/internal/adapters/httpapi"
	"github.com/chatd/chatd/internal/llmsim"
)

// rig is a running chatd wired to an in-process llmsim, and one user.
type rig struct {
	simURL   string
	chatdURL string
	http     *http.Client
	token    string
	userID   string
}

var userSeq atomic.Int64

// newRig starts llmsim and chatd on a fresh SQLite file for the benchmark
// and stops them after it.
func newRig(tb testing.TB) *rig {
	tb.Helper()
	return newRigOn(tb, "sqlite://"+filepath.Join(dataDir(tb), "chat.db"))
}

// newRigOn is newRig on the given database, which chatd migrates at start.
func newRigOn(tb testing.TB, dbURL string) *rig {
	tb.Helper()
	sim := llmsim.New(llmsim.Options{DisableRecording: true})
	simURL, err := sim.Start("127.0.0.1:0")
	if err != nil {
		tb.Fatalf("start llmsim: %v", err)
	}
	tb.Cleanup(sim.Close)

	cfg, _, err := bootstrap.Load(nil, func(string) string { return "" })
	if err != nil {
		tb.Fatalf("default config: %v", err)
	}
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.DatabaseURL = dbURL
	cfg.JWTSecret = "bench-secret-0123456789abcdef0123456789abcdef"
	cfg.LocalBaseURL = simURL + "/v1"
	cfg.RateLimitAPI, cfg.RateLimitLLM, cfg.RateLimitAuth = 0, 0, 0
	cfg.MaxConcurrentGenerations = 100000
	cfg.MaxTokensCeiling = 0
	cfg.AccessTokenTTL = 2 * time.Hour
	cfg.ShutdownTimeout = 5 * time.Second

	var srv *httpapi.Server
	app := fx.New(
		bootstrap.Options(cfg, zap.NewNop()),
		// Registration is not what these benchmarks measure.
		fx.Decorate(func(c auth.Config) auth.Config {
			c.Argon2 = auth.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
			return c
		}),
		fx.Populate(&srv),
		fx.NopLogger,
	)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		tb.Fatalf("start chatd: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := app.Stop(ctx); err != nil {
			tb.Errorf("stop chatd: %v", err)
		}
	})

	tr := &http.Transport{MaxIdleConnsPerHost: 1024, DisableCompression: true}
	tb.Cleanup(tr.CloseIdleConnections)
	r := &rig{simURL: simURL, chatdURL: "http://" + srv.Addr(), http: &http.Client{Transport: tr}}
	var out struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		AccessToken string `json:"access_token"`
	}
	r.call(tb, http.MethodPost, "/api/v1/auth/register", "", map[string]string{
		"email":    fmt.Sprintf("bench-%d-%d@example.com", time.Now().UnixNano(), userSeq.Add(1)),
		"password": "bench password", "display_name": "bench",
	}, http.StatusCreated, &out)
	r.token, r.userID = out.AccessToken, out.User.ID
	return r
}

// dataDir is where the benchmark's SQLite file lives: a test temp dir, or
// a fresh folder under CHATD_BENCH_DATA_DIR (e.g. /dev/shm, to take fsync
// off the write path and measure it apart).
func dataDir(tb testing.TB) string {
	base := os.Getenv("CHATD_BENCH_DATA_DIR")
	if base == "" {
		return tb.TempDir()
	}
	dir, err := os.MkdirTemp(base, "chatd-bench-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// call sends a JSON request to chatd and decodes the answer.
func (r *rig) call(tb testing.TB, method, path, token string, body any, want int, out any) {
	tb.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(context.Background(), method, r.chatdURL+path, bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(resp.Body)
		tb.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, msg)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			tb.Fatal(err)
		}
	}
}

// session creates a titled session of the given llmsim model.
func (r *rig) session(tb testing.TB, model string) string {
	tb.Helper()
	var out struct {
		ID string `json:"id"`
	}
	r.call(tb, http.MethodPost, "/api/v1/chat/sessions", r.token,
		map[string]string{"title": "bench", "llm_provider": "LOCAL", "llm_model": model}, http.StatusCreated, &out)
	return out.ID
}

// post sends a message (201) and returns the reply's id.
func (r *rig) post(tb testing.TB, sessionID, content, model string) string {
	tb.Helper()
	var out struct {
		AssistantMessage struct {
			ID string `json:"id"`
		} `json:"assistant_message"`
	}
	r.call(tb, http.MethodPost, "/api/v1/chat/sessions/"+sessionID+"/messages", r.token,
		map[string]string{"content": content, "llm_model": model}, http.StatusCreated, &out)
	return out.AssistantMessage.ID
}

func model(tokens int, ttft time.Duration) string {
	return fmt.Sprintf("sim-small+tokens=%d+tps=0+ttft=%s", tokens, ttft)
}

// lineReader reads SSE lines without allocating.
type lineReader struct{ br *bufio.Reader }

func (l lineReader) line() ([]byte, error) {
	b, err := l.br.ReadSlice('\n')
	for errors.Is(err, bufio.ErrBufferFull) {
		_, err = l.br.ReadSlice('\n') // a long line (a final event): its tail is not needed
	}
	return b, err
}

var (
	deltaFrame  = []byte(`data: {"type":"message.delta"`)
	finalFrame  = []byte(`event: message.completed`)
	simContent  = []byte(`"content":"`)
	simDone     = []byte("data: [DONE]")
	errNoFinish = errors.New("stream ended early")
)

// sseReply posts a message with Accept: text/event-stream and reads the
// stream to its end; it returns when the first delta arrived and how many.
func (r *rig) sseReply(sessionID, content, mdl string) (first time.Duration, deltas int, err error) {
	body := `{"content":"` + content + `","llm_model":"` + mdl + `"}`
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost,
		r.chatdURL+"/api/v1/chat/sessions/"+sessionID+"/messages", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+r.token)
	start := time.Now()
	resp, err := r.http.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("post: %d", resp.StatusCode)
	}
	lr := lineReader{bufio.NewReaderSize(resp.Body, 32<<10)}
	completed := false
	for {
		l, err := lr.line()
		if errors.Is(err, io.EOF) {
			if !completed {
				return first, deltas, errNoFinish
			}
			return first, deltas, nil
		}
		if err != nil {
			return first, deltas, err
		}
		switch {
		case bytes.HasPrefix(l, deltaFrame):
			if deltas == 0 {
				first = time.Since(start)
			}
			deltas++
		case bytes.HasPrefix(l, finalFrame):
			completed = true
		}
	}
}

// directReply asks llmsim itself for the same completion and reads it to
// [DONE]: the twin of sseReply.
func (r *rig) directReply(content, mdl string) (first time.Duration, chunks int, err error) {
	body := `{"model":"` + mdl + `","stream":true,"messages":[{"role":"user","content":"` + content + `"}]}`
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, r.simURL+"/v1/chat/completions",
		strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := r.http.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	lr := lineReader{bufio.NewReaderSize(resp.Body, 32<<10)}
	for {
		l, err := lr.line()
		if err != nil {
			return first, chunks, fmt.Errorf("direct stream: %w", err)
		}
		if bytes.HasPrefix(l, simDone) {
			return first, chunks, nil
		}
		if i := bytes.Index(l, simContent); i >= 0 && l[i+len(simContent)] != '"' {
			if chunks == 0 {
				first = time.Since(start)
			}
			chunks++
		}
	}
}

// socket opens a session WebSocket and reads past its snapshot.
func (r *rig) socket(tb testing.TB, sessionID string) *websocket.Conn {
	tb.Helper()
	d := websocket.Dialer{ReadBufferSize: 16 << 10, WriteBufferSize: 256}
	h := http.Header{"Authorization": {"Bearer " + r.token}}
	conn, resp, err := d.DialContext(context.Background(),
		"ws"+strings.TrimPrefix(r.chatdURL, "http")+"/api/v1/chat/sessions/"+sessionID+"/websocket", h)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	if _, _, err := conn.ReadMessage(); err != nil {
		tb.Fatalf("snapshot: %v", err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	return conn
}

var (
	wsDelta     = []byte(`{"type":"message.delta"`)
	wsCompleted = []byte(`{"type":"message.completed"`)
)

// readUntilCompleted reads a socket's frames into buf until a
// message.completed, and counts the deltas (a frame that batches several
// events counts each of them).
func readUntilCompleted(conn *websocket.Conn, buf []byte) (deltas int, _ []byte, err error) {
	for {
		_, rd, err := conn.NextReader()
		if err != nil {
			return deltas, buf, err
		}
		buf = buf[:0]
		for {
			if len(buf) == cap(buf) {
				buf = append(buf, 0)[:len(buf)]
			}
			n, err := rd.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return deltas, buf, err
			}
		}
		// A pattern like {"type":"message.delta" cannot occur inside a JSON
		// string (its quotes would be escaped), so counting it counts events.
		deltas += bytes.Count(buf, wsDelta)
		done := bytes.Contains(buf, wsCompleted)
		if done {
			return deltas, buf, nil
		}
	}
}
