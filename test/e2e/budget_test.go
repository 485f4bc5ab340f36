package e2e

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/llmsim"
	"github.com/chatd/chatd/test/harness"
)

// A user over CHAT_USER_DAILY_TOKENS gets 429 with Retry-After until midnight
// UTC, before anything is stored or sent upstream; other users are unaffected.
func TestDailyTokenBudget(t *testing.T) {
	harness.ForEachDialect(t, func(t *testing.T, d harness.Dialect) {
		cfg := harness.DefaultConfig(t, d)
		cfg.UserDailyTokens = 40
		sim := harness.WithUpstream(t, &cfg, llmsim.Options{ReplyTokens: 30})
		srv := harness.Start(t, cfg)

		spender := srv.NewUser(t)
		session := spender.Do("POST", "/api/v1/chat/sessions", map[string]any{
			"llm_provider": "LOCAL", "llm_model": "sim-small", "title": "budget",
		}).Expect(http.StatusCreated).Map()["id"].(string)
		post := func(c *harness.Client, sessionID string) *harness.Response {
			return c.Do("POST", "/api/v1/chat/sessions/"+sessionID+"/messages?wait=true",
				map[string]any{"content": "count my tokens"})
		}

		// Under the budget: replies are generated and their tokens counted.
		for spent := 0.0; spent < 40; {
			post(spender, session).Expect(http.StatusOK)
			spent = spender.Do("GET", "/api/v1/chat/stats", nil).Expect(http.StatusOK).Map()["total_tokens"].(float64)
		}
		calls := len(sim.Requests())
		before := spender.Do("GET", "/api/v1/chat/sessions/"+session+"/messages", nil).Expect(http.StatusOK).Map()["total_count"]

		refused := post(spender, session)
		p := refused.Problem(http.StatusTooManyRequests)
		retry, err := strconv.Atoi(refused.Header.Get("Retry-After"))
		now := time.Now().UTC()
		untilMidnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC).Sub(now)
		if err != nil || retry < 1 || time.Duration(retry)*time.Second > untilMidnight+time.Minute {
			t.Fatalf("Retry-After %q; want seconds until midnight UTC (%s)", refused.Header.Get("Retry-After"), untilMidnight)
		}
		if p.Type != "urn:chatd:problem:daily-token-budget-spent" {
			t.Fatalf("problem %+v", p)
		}
		if got := len(sim.Requests()); got != calls {
			t.Fatalf("a refused post reached the provider (%d calls, was %d)", got, calls)
		}
		after := spender.Do("GET", "/api/v1/chat/sessions/"+session+"/messages", nil).Expect(http.StatusOK).Map()["total_count"]
		if after != before {
			t.Fatalf("a refused post stored messages: %v -> %v", before, after)
		}
		// Posting without a reply costs no tokens and stays allowed.
		spender.Do("POST", "/api/v1/chat/sessions/"+session+"/messages",
			map[string]any{"content": "just a note", "process_llm": false}).Expect(http.StatusCreated)

		// The budget is per user.
		other := srv.NewUser(t)
		otherSession := other.Do("POST", "/api/v1/chat/sessions", map[string]any{
			"llm_provider": "LOCAL", "llm_model": "sim-small", "title": "fresh",
		}).Expect(http.StatusCreated).Map()["id"].(string)
		post(other, otherSession).Expect(http.StatusOK)
	})
}
