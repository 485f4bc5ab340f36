package e2e

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/chatd/chatd/test/harness"
)

// Every token chatd did not issue, or that expired, or that is not an access
// token, answers 401 on a protected route, with the same problem.
func TestJWTRejectionMatrix(t *testing.T) {
	cfg := harness.DefaultConfig(t, harness.SQLite)
	srv := harness.Start(t, cfg)
	user := srv.NewUser(t)
	user.Do("GET", "/api/v1/auth/me", nil).Expect(http.StatusOK)

	secret := []byte(cfg.JWTSecret)
	now := time.Now()
	claims := func(mutate func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{
			"sub": user.UserID, "role": "user", "typ": "access", "iss": "chatd", "aud": "chatd-api",
			"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "jti": "x",
		}
		if mutate != nil {
			mutate(c)
		}
		return c
	}
	sign := func(method jwt.SigningMethod, key any, c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(method, c).SignedString(key)
		if err != nil {
			t.Fatalf("sign: %v", err)
		}
		return s
	}
	// A forged token with a valid shape must be refused only for what the
	// case changes: check that the baseline is accepted.
	valid := sign(jwt.SigningMethodHS256, secret, claims(nil))
	asUser := srv.Client(t)
	asUser.Token = valid
	asUser.Do("GET", "/api/v1/auth/me", nil).Expect(http.StatusOK)

	unsignedNone, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(valid, ".")
	tamperedPayload := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"` + user.UserID + `","role":"admin","typ":"access","iss":"chatd","aud":"chatd-api","iat":1,"exp":9999999999}`))

	cases := map[string]string{
		"alg none":                      unsignedNone,
		"HS512 with the same key":       sign(jwt.SigningMethodHS512, secret, claims(nil)),
		"another key":                   sign(jwt.SigningMethodHS256, []byte("another-secret-0123456789abcdef0123456789"), claims(nil)),
		"tampered payload":              parts[0] + "." + tamperedPayload + "." + parts[2],
		"signature stripped":            parts[0] + "." + parts[1] + ".",
		"expired":                       sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() })),
		"wrong issuer":                  sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { c["iss"] = "evil" })),
		"wrong audience":                sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { c["aud"] = "other-api" })),
		"no exp":                        sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { delete(c, "exp") })),
		"not an access token":           sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { c["typ"] = "refresh" })),
		"refresh token as access token": user.RefreshToken,
		"garbage":                       "not.a.jwt",
	}
	var first *harness.Problem
	for name, token := range cases {
		t.Run(name, func(t *testing.T) {
			c := srv.Client(t)
			c.Token = token
			p := c.Do("GET", "/api/v1/chat/sessions", nil).Problem(http.StatusUnauthorized)
			if first == nil {
				first = &p
			} else if p.Type != first.Type || p.Detail != first.Detail {
				t.Fatalf("refusals differ, which tells an attacker why: %+v vs %+v", p, *first)
			}
		})
	}
}

// Browsers get CORS answers only for allow-listed origins, never "*"; API
// answers carry the security headers.
func TestCORSAndSecurityHeaders(t *testing.T) {
	cfg := harness.DefaultConfig(t, harness.SQLite)
	cfg.CORSOrigins = []string{"https://app.example.com"}
	srv := harness.Start(t, cfg)
	user := srv.NewUser(t)

	allowed := user.Do("GET", "/api/v1/chat/sessions", nil, harness.Header{Name: "Origin", Value: "https://app.example.com"}).
		Expect(http.StatusOK)
	if got := allowed.Header.Get("Access-Control-Allow-Origin"); got != "https://app.example.com" {
		t.Fatalf("allowed origin answered Access-Control-Allow-Origin %q", got)
	}
	denied := user.Do("GET", "/api/v1/chat/sessions", nil, harness.Header{Name: "Origin", Value: "https://evil.example.com"}).
		Expect(http.StatusOK)
	if got := denied.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("a foreign origin got Access-Control-Allow-Origin %q", got)
	}

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodOptions, srv.URL+"/api/v1/chat/sessions", nil)
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") ||
		resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Fatalf("preflight answered %d %v", resp.StatusCode, resp.Header)
	}

	for name, want := range map[string]string{
		"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
		"Referrer-Policy": "no-referrer",
	} {
		if got := allowed.Header.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}
