package e2e

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/llmsim"
	"github.com/chatd/chatd/test/harness"
)

// genRetryAfter checks a 429 problem and returns its Retry-After in seconds.
func genRetryAfter(t testing.TB, r *harness.Response, maxSeconds int) int {
	t.Helper()
	r.Problem(http.StatusTooManyRequests)
	s, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || s < 1 || s > maxSeconds {
		t.Fatalf("%s %s: Retry-After %q, want 1..%d seconds", r.Method, r.Path, r.Header.Get("Retry-After"), maxSeconds)
	}
	return s
}

// genCount is how many messages a session holds.
func genCount(t testing.TB, c *harness.Client, sid string) int {
	t.Helper()
	return len(genMessages(t, c, sid))
}

func TestGenerationConcurrencyLimit(t *testing.T) {
	t.Parallel()
	harness.ForEachDialect(t, func(t *testing.T, d harness.Dialect) {
		t.Parallel()
		cfg := harness.DefaultConfig(t, d)
		cfg.MaxConcurrentGenerations = 1
		sim := harness.WithUpstream(t, &cfg, llmsim.Options{})
		srv := harness.Start(t, cfg)
		c, other := srv.NewUser(t), srv.NewUser(t)

		slow := genModel("tokens=400", "tps=20")
		sid := genSession(t, c, map[string]any{"llm_model": slow})
		// A failed reply frees its slot too.
		if _, r := genReply(t, c, sid, "fail first", map[string]any{"llm_model": genModel("fault=404")}); r["status"] != "failed" {
			t.Fatalf("reply = %v", r)
		}
		_, first := genSend(t, c, sid, "take long", nil)
		for deadline := time.Now().Add(5 * time.Second); genMessage(t, c, sid, first["id"].(string))["status"] != "streaming"; {
			if time.Now().After(deadline) {
				t.Fatal("the first reply never started streaming")
			}
			time.Sleep(50 * time.Millisecond)
		}

		// A second reply while the first streams: 429, nothing stored, nothing sent.
		refused := genModel("tokens=3")
		path := "/api/v1/chat/sessions/" + sid + "/messages"
		genRetryAfter(t, c.Do("POST", path, map[string]any{"content": "me too", "llm_model": refused}), 60)
		genRetryAfter(t, c.Do("POST", "/api/v1/chat/sessions/"+sid+"/process-llm", map[string]any{"prompt": "me too", "llm_model": refused}), 60)
		if s := c.PostSSE(path, map[string]any{"content": "me too", "llm_model": refused}); s.Status != http.StatusTooManyRequests {
			t.Fatalf("SSE post over the limit: status %d", s.Status)
		}
		if n := genCount(t, c, sid); n != 4 {
			t.Fatalf("refused posts stored messages: %d, want 4", n)
		}
		genOnly(t, harness.Completions(sim, refused, true), 0, "refused replies")

		// Posting without a reply is not a generation; other users have their own limit.
		c.Do("POST", path, map[string]any{"content": "just a note", "process_llm": false}).Expect(http.StatusCreated)
		osid := genSession(t, other, map[string]any{"llm_model": genModel("tokens=3")})
		if _, r := genReply(t, other, osid, "mine", nil); r["status"] != "completed" {
			t.Fatalf("another user's reply = %v", r)
		}

		// Once the first ends, the slot is free again.
		c.Do("POST", "/api/v1/chat/messages/"+first["id"].(string)+"/cancel", nil).Expect(http.StatusOK)
		if _, r := genReply(t, c, sid, "now me", map[string]any{"llm_model": refused}); r["status"] != "completed" {
			t.Fatalf("reply after the slot was freed = %v", r)
		}
	})
}

func TestGenerationRateLimit(t *testing.T) {
	t.Parallel()
	harness.ForEachDialect(t, func(t *testing.T, d harness.Dialect) {
		t.Parallel()
		cfg := harness.DefaultConfig(t, d)
		cfg.RateLimitLLM = 2
		sim := harness.WithUpstream(t, &cfg, llmsim.Options{})
		srv := harness.Start(t, cfg)
		c := srv.NewUser(t)
		sid := genSession(t, c, map[string]any{"llm_model": genModel("tokens=3")})
		path := "/api/v1/chat/sessions/" + sid + "/messages"

		// Posts without a reply do not count.
		for range 4 {
			c.Do("POST", path, map[string]any{"content": "note", "process_llm": false}).Expect(http.StatusCreated)
		}
		genReply(t, c, sid, "one", nil)
		genReply(t, c, sid, "two", nil)
		before := genCount(t, c, sid)
		third := genModel("tokens=3")
		genRetryAfter(t, c.Do("POST", path, map[string]any{"content": "three", "llm_model": third}), 60)
		genRetryAfter(t, c.Do("POST", "/api/v1/chat/sessions/"+sid+"/process-llm", map[string]any{"llm_model": third}), 60)
		if n := genCount(t, c, sid); n != before {
			t.Fatalf("rate-limited posts stored %d messages", n-before)
		}
		genOnly(t, harness.Completions(sim, third, true), 0, "rate-limited replies")
		c.Do("POST", path, map[string]any{"content": "still allowed", "process_llm": false}).Expect(http.StatusCreated)

		// The limit is per user.
		other := srv.NewUser(t)
		osid := genSession(t, other, map[string]any{"llm_model": genModel("tokens=3")})
		if _, r := genReply(t, other, osid, "mine", nil); r["status"] != "completed" {
			t.Fatalf("another user's reply = %v", r)
		}
	})
}

// TestGenerationNoRetries: CHAT_LLM_MAX_RETRIES=0 means one attempt.
func TestGenerationNoRetries(t *testing.T) {
	cfg := harness.DefaultConfig(t, harness.SQLite)
	cfg.LLMMaxRetries = 0
	sim := harness.WithUpstream(t, &cfg, llmsim.Options{})
	srv := harness.Start(t, cfg)
	c := srv.NewUser(t)
	model := genModel("fault=500")
	sid := genSession(t, c, map[string]any{"llm_model": model})
	if _, r := genReply(t, c, sid, "once", nil); r["status"] != "failed" {
		t.Fatalf("reply = %v", r)
	}
	genOnly(t, harness.Completions(sim, model, true), 1, "CHAT_LLM_MAX_RETRIES=0")
}

// TestGenerationDailyTokens: past CHAT_USER_DAILY_TOKENS, generation is 429.
func TestGenerationDailyTokens(t *testing.T) {
	t.Parallel()
	cfg := harness.DefaultConfig(t, harness.SQLite)
	cfg.UserDailyTokens = 20
	sim := harness.WithUpstream(t, &cfg, llmsim.Options{})
	srv := harness.Start(t, cfg)
	c := srv.NewUser(t)
	sid := genSession(t, c, map[string]any{"llm_model": genModel("tokens=30")})
	_, r := genReply(t, c, sid, "spend my budget", nil)
	if genNum(t, "tokens_used", r["tokens_used"]) <= 20 {
		t.Fatalf("reply = %v", r)
	}
	over := genModel("tokens=3")
	genRetryAfter(t, c.Do("POST", "/api/v1/chat/sessions/"+sid+"/messages", map[string]any{"content": "more", "llm_model": over}), 86400)
	genOnly(t, harness.Completions(sim, over, true), 0, "replies over the daily budget")
}
