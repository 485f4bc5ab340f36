package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/chatd/chatd/test/harness"
)

// CHAT_RATE_LIMIT_API bounds each user's requests; others keep their own
// budget, and the refusal says when to come back.
func TestAPIRateLimitPerUser(t *testing.T) {
	cfg := harness.DefaultConfig(t, harness.SQLite)
	cfg.RateLimitAPI = 5
	srv := harness.Start(t, cfg)
	busy, calm := srv.NewUser(t), srv.NewUser(t)
	for range 5 {
		busy.Do("GET", "/api/v1/chat/sessions", nil).Expect(http.StatusOK)
	}
	refused := busy.Do("GET", "/api/v1/chat/sessions", nil)
	refused.Problem(http.StatusTooManyRequests)
	if s, err := strconv.Atoi(refused.Header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
		t.Fatalf("Retry-After %q", refused.Header.Get("Retry-After"))
	}
	calm.Do("GET", "/api/v1/chat/sessions", nil).Expect(http.StatusOK)
}

// CHAT_RATE_LIMIT_AUTH bounds register/login/refresh per client address,
// login also per account, and a forged X-Forwarded-For does not reset it.
func TestAuthRateLimits(t *testing.T) {
	cfg := harness.DefaultConfig(t, harness.SQLite)
	cfg.RateLimitAuth = 3
	srv := harness.Start(t, cfg)
	anon := srv.Client(t)
	for i := range 3 {
		anon.Do("POST", "/api/v1/auth/login", map[string]any{
			"email": fmt.Sprintf("nobody%d@example.com", i), "password": "wrong password",
		}).Problem(http.StatusUnauthorized)
	}
	for i, spoof := range []string{"", "203.0.113.7", "198.51.100.1, 203.0.113.9"} {
		p := anon.Do("POST", "/api/v1/auth/register", map[string]any{
			"email": fmt.Sprintf("new%d@example.com", i), "password": "correct horse battery", "display_name": "N",
		}, harness.Header{Name: "X-Forwarded-For", Value: spoof})
		p.Problem(http.StatusTooManyRequests)
		if p.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}
}

// Guessing one account's password is limited per account too: spreading
// the guesses over addresses (here through a trusted proxy) does not help.
func TestLoginLimitPerAccount(t *testing.T) {
	cfg := harness.DefaultConfig(t, harness.SQLite)
	cfg.RateLimitAuth = 2
	cfg.TrustedProxies = []string{"127.0.0.1"}
	srv := harness.Start(t, cfg)
	from := func(addr string) harness.Header { return harness.Header{Name: "X-Forwarded-For", Value: addr} }

	victim := srv.Client(t)
	victim.Do("POST", "/api/v1/auth/register", map[string]any{
		"email": "victim@example.com", "password": "correct horse battery", "display_name": "V",
	}, from("203.0.113.1")).Expect(http.StatusCreated)
	for i, addr := range []string{"203.0.113.2", "203.0.113.3"} {
		srv.Client(t).Do("POST", "/api/v1/auth/login", map[string]any{
			"email": "victim@example.com", "password": fmt.Sprintf("guess number %d", i),
		}, from(addr)).Problem(http.StatusUnauthorized)
	}
	srv.Client(t).Do("POST", "/api/v1/auth/login", map[string]any{
		"email": "victim@example.com", "password": "correct horse battery",
	}, from("203.0.113.4")).Problem(http.StatusTooManyRequests)
	// Another account from a fresh address is not affected.
	srv.Client(t).Do("POST", "/api/v1/auth/login", map[string]any{
		"email": "someone@example.com", "password": "whatever it is",
	}, from("203.0.113.5")).Problem(http.StatusUnauthorized)
}
