package faults

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/chatd/chatd/internal/llmsim"
	"github.com/chatd/chatd/test/harness"
)

const (
	loadUsers       = 20
	loadPostsEach   = 6
	loadReaders     = 4
	loadReplyTokens = 50
)

// Twenty users post at once with replies on the embedded default (SQLite),
// while others read: no "database is locked", no 5xx, every message stored
// and every reply complete.
func TestSQLiteLoad(t *testing.T) {
	logs := &harness.OutputBuffer{}
	cfg := harness.DefaultConfig(t, harness.SQLite)
	sim := harness.WithUpstream(t, &cfg, llmsim.Options{})
	srv := harness.Start(t, cfg, captureLogs(logs))

	type user struct {
		c     *harness.Client
		sid   string
		model string
	}
	users := make([]user, loadUsers)
	for i := range users {
		c := srv.NewUser(t)
		m := model(fmt.Sprintf("tokens=%d", loadReplyTokens), "tps=500")
		users[i] = user{c: c, sid: newSession(t, c, m), model: m}
	}

	var (
		mu       sync.Mutex
		problems []string
		answers  atomic.Int64
	)
	complain := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(problems) < 50 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	// check accepts an answer with status want; any 5xx, error or other status is a problem.
	check := func(what string, a answer, want int) bool {
		answers.Add(1)
		if a.Err != nil || a.Status != want {
			complain("%s: %v, want %d", what, a, want)
			return false
		}
		return true
	}

	start := time.Now()
	var writers, readers sync.WaitGroup
	done := make(chan struct{})
	for i, u := range users {
		writers.Go(func() {
			for p := range loadPostsEach {
				content := fmt.Sprintf("user %d says hello for the %d. time", i, p+1)
				a := call(t, srv, u.c.Token, "POST", messagesPath(u.sid), map[string]any{"content": content}, 60*time.Second)
				if !check("POST message", a, http.StatusCreated) {
					return
				}
				var res sendResult
				if err := json.Unmarshal(a.Body, &res); err != nil || res.Reply == nil {
					complain("POST answered %s (%v)", a.Body, err)
					return
				}
				// Read until the reply has ended, as a client would.
				deadline := time.Now().Add(60 * time.Second)
				for {
					a := call(t, srv, u.c.Token, "GET", messagesPath(u.sid)+"?page_size=100", nil, 60*time.Second)
					if !check("GET messages", a, http.StatusOK) {
						return
					}
					var body struct {
						Messages []message `json:"messages"`
					}
					if err := json.Unmarshal(a.Body, &body); err != nil {
						complain("GET messages: %v", err)
						return
					}
					if m, ok := find(body.Messages, res.Reply.ID); ok && final[m.Status] {
						break
					}
					if time.Now().After(deadline) {
						complain("user %d: reply %s not finished after 60 s", i, res.Reply.ID)
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
	for range loadReaders {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				u := users[rand.IntN(len(users))]
				check("GET sessions", call(t, srv, u.c.Token, "GET", sessionsPath, nil, 60*time.Second), http.StatusOK)
				check("GET session", call(t, srv, u.c.Token, "GET", sessionsPath+"/"+u.sid, nil, 60*time.Second), http.StatusOK)
				check("ready", call(t, srv, "", "GET", readyPath, nil, 60*time.Second), http.StatusOK)
			}
		})
	}
	writers.Wait()
	close(done)
	readers.Wait()
	t.Logf("%d users x %d posts with replies, %d answers in %v", loadUsers, loadPostsEach, answers.Load(),
		time.Since(start).Round(time.Millisecond))
	if len(problems) > 0 {
		t.Fatalf("%d problems under load, first ones:\n%s", len(problems), strings.Join(problems, "\n"))
	}

	// Every message stored, every reply complete with exactly what the model sent.
	for i, u := range users {
		ms := listMessages(t, u.c, u.sid)
		if len(ms) != 2*loadPostsEach {
			t.Fatalf("user %d: %d messages stored, want %d: %v", i, len(ms), 2*loadPostsEach, ms)
		}
		for p := range loadPostsEach {
			q, r := ms[2*p], ms[2*p+1]
			content := fmt.Sprintf("user %d says hello for the %d. time", i, p+1)
			if q.Role != "user" || q.Content != content || q.Status != "completed" {
				t.Fatalf("user %d, post %d stored as %v", i, p, q)
			}
			want := llmsim.ExpectedReply(content, loadReplyTokens)
			if r.Role != "assistant" || r.Status != "completed" || r.IsStreaming || r.Content != want ||
				r.ParentID == nil || *r.ParentID != q.ID {
				t.Fatalf("user %d, reply %d = %v, want completed with %q after %s", i, p, r, want, q.ID)
			}
		}
		if n := replyRequests(sim, u.model); n != loadPostsEach {
			t.Fatalf("user %d: %d upstream requests, want %d", i, n, loadPostsEach)
		}
	}

	// The log: the replies are there (so it was captured), no lock errors, no errors at all.
	text := logs.String()
	if n := strings.Count(text, `"msg":"reply ended"`); n != loadUsers*loadPostsEach {
		t.Fatalf("%d \"reply ended\" lines in the captured log, want %d", n, loadUsers*loadPostsEach)
	}
	for _, bad := range []string{"database is locked", "sqlite_busy", "database table is locked"} {
		if strings.Contains(strings.ToLower(text), bad) {
			t.Fatalf("the log mentions %q:\n%s", bad, linesWith(text, bad))
		}
	}
	if errs := linesWith(text, `"level":"error"`); errs != "" {
		t.Fatalf("errors logged under load:\n%s", errs)
	}
}

// captureLogs tees chatd's logger into buf as JSON lines from info up; the
// harness's test logger keeps its own output.
func captureLogs(buf *harness.OutputBuffer) fx.Option {
	return fx.Decorate(func(l *zap.Logger) *zap.Logger {
		enc := zap.NewProductionEncoderConfig()
		core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(buf), zapcore.InfoLevel)
		return zap.New(zapcore.NewTee(l.Core(), core))
	})
}

// linesWith returns the lines of text that contain s (case-insensitive), at most 20.
func linesWith(text, s string) string {
	var out []string
	for line := range strings.SplitSeq(text, "\n") {
		if strings.Contains(strings.ToLower(line), strings.ToLower(s)) && len(out) < 20 {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
