package auth_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/chatd/chatd/internal/adapters/auth"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

func newIssuer(t *testing.T) *auth.JWTIssuer {
	t.Helper()
	iss, err := auth.NewTokenIssuer(auth.Config{Secret: testSecret})
	if err != nil {
		t.Fatalf("NewTokenIssuer: %v", err)
	}
	return iss
}

// validClaims are what IssueAccess would sign; cases change one thing.
func validClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss":  "chatd",
		"aud":  "chatd-api",
		"sub":  "0190a8c2-0000-7000-8000-000000000001",
		"iat":  now.Unix(),
		"exp":  now.Add(15 * time.Minute).Unix(),
		"jti":  "test",
		"role": "user",
		"typ":  "access",
	}
}

func sign(t *testing.T, m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, claims).SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func without(c jwt.MapClaims, k string) jwt.MapClaims { delete(c, k); return c }

func with(c jwt.MapClaims, k string, v any) jwt.MapClaims { c[k] = v; return c }

// hs256WithHeader signs header.payload with our key whatever the header says,
// to try algorithm confusion.
func hs256WithHeader(t *testing.T, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := enc(header) + "." + enc(claims)
	sig, err := jwt.SigningMethodHS256.Sign(signing, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestAccessRoundTrip(t *testing.T) {
	iss := newIssuer(t)
	now := time.Now()
	tok, ttl, err := iss.IssueAccess("user-1", domain.UserRoleAdmin, now)
	if err != nil {
		t.Fatalf("IssueAccess: %v", err)
	}
	if ttl != 15*time.Minute {
		t.Errorf("expiresIn = %v, want 15m", ttl)
	}
	got, err := iss.VerifyAccess(tok)
	if err != nil {
		t.Fatalf("VerifyAccess: %v", err)
	}
	if got.UserID != "user-1" || got.Role != domain.UserRoleAdmin {
		t.Errorf("claims = %+v", got)
	}

	var c jwt.MapClaims
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, &c)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Header["alg"] != "HS256" || c["typ"] != "access" || c["iss"] != "chatd" || c["jti"] == "" {
		t.Errorf("header %v claims %v", parsed.Header, c)
	}
	if aud, _ := c.GetAudience(); len(aud) != 1 || aud[0] != "chatd-api" {
		t.Errorf("aud = %v", aud)
	}
	if int64(c["exp"].(float64))-int64(c["iat"].(float64)) != int64((15 * time.Minute).Seconds()) {
		t.Errorf("exp-iat = %v", c)
	}

	tok2, _, _ := iss.IssueAccess("user-1", domain.UserRoleAdmin, now)
	if tok2 == tok {
		t.Error("two tokens issued at the same instant are identical: jti is not random")
	}
}

func TestAccessWithinLeewayAccepted(t *testing.T) {
	iss := newIssuer(t)
	tok, _, err := iss.IssueAccess("u", domain.UserRoleUser, time.Now().Add(-15*time.Minute-10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.VerifyAccess(tok); err != nil {
		t.Errorf("token expired 10s ago, within 30s leeway: %v", err)
	}
}

func TestVerifyAccessRejects(t *testing.T) {
	iss := newIssuer(t)
	now := time.Now()
	otherKey := []byte("ffffffffffffffffffffffffffffffff")

	valid, _, err := iss.IssueAccess("user-1", domain.UserRoleUser, now)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(valid, ".")
	forged, _ := json.Marshal(with(validClaims(now), "role", "admin"))
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(forged) + "." + parts[2]
	expired, _, _ := iss.IssueAccess("user-1", domain.UserRoleUser, now.Add(-20*time.Minute))

	cases := map[string]string{
		"empty":              "",
		"garbage":            "not a token",
		"three garbage dots": "a.b.c",
		"oversized":          strings.Repeat("a", 5000),
		"alg none":           sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, validClaims(now)),
		"alg none unsigned":  hs256WithHeader(t, map[string]any{"alg": "none", "typ": "JWT"}, validClaims(now)),
		"HS512 same key":     sign(t, jwt.SigningMethodHS512, testSecret, validClaims(now)),
		"HS384 same key":     sign(t, jwt.SigningMethodHS384, testSecret, validClaims(now)),
		"RS256 header":       hs256WithHeader(t, map[string]any{"alg": "RS256", "typ": "JWT"}, validClaims(now)),
		"other key":          sign(t, jwt.SigningMethodHS256, otherKey, validClaims(now)),
		"tampered payload":   tampered,
		"signature stripped": parts[0] + "." + parts[1] + ".",
		"expired":            expired,
		"iat in the future":  sign(t, jwt.SigningMethodHS256, testSecret, with(validClaims(now), "iat", now.Add(time.Hour).Unix())),
		"wrong iss":          sign(t, jwt.SigningMethodHS256, testSecret, with(validClaims(now), "iss", "someone-else")),
		"wrong aud":          sign(t, jwt.SigningMethodHS256, testSecret, with(validClaims(now), "aud", "other-api")),
		"missing iss":        sign(t, jwt.SigningMethodHS256, testSecret, without(validClaims(now), "iss")),
		"missing aud":        sign(t, jwt.SigningMethodHS256, testSecret, without(validClaims(now), "aud")),
		"missing exp":        sign(t, jwt.SigningMethodHS256, testSecret, without(validClaims(now), "exp")),
		"missing iat":        sign(t, jwt.SigningMethodHS256, testSecret, without(validClaims(now), "iat")),
		"missing sub":        sign(t, jwt.SigningMethodHS256, testSecret, without(validClaims(now), "sub")),
		"missing typ":        sign(t, jwt.SigningMethodHS256, testSecret, without(validClaims(now), "typ")),
		"typ refresh":        sign(t, jwt.SigningMethodHS256, testSecret, with(validClaims(now), "typ", "refresh")),
		"unknown role":       sign(t, jwt.SigningMethodHS256, testSecret, with(validClaims(now), "role", "root")),
		"exp not a number":   sign(t, jwt.SigningMethodHS256, testSecret, with(validClaims(now), "exp", "tomorrow")),
	}
	// The helper claims are accepted as they are, so each case fails for
	// its own reason only.
	if _, err := iss.VerifyAccess(sign(t, jwt.SigningMethodHS256, testSecret, validClaims(now))); err != nil {
		t.Fatalf("baseline claims rejected: %v", err)
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			claims, err := iss.VerifyAccess(tok)
			if err == nil {
				t.Fatalf("accepted: %+v", claims)
			}
			de, ok := domain.AsError(err)
			if !ok || de.Kind != domain.ErrUnauthenticated || de.Code != "invalid-token" ||
				de.Detail != "the access token is missing, malformed or expired" {
				t.Fatalf("error = %#v, want the one generic invalid-token error", err)
			}
			t.Logf("cause (for logs only): %v", de.Err)
			if claims != (ports.AccessClaims{}) {
				t.Errorf("claims returned with an error: %+v", claims)
			}
		})
	}
}

func TestIssueAccessRefusesBadInput(t *testing.T) {
	iss := newIssuer(t)
	if _, _, err := iss.IssueAccess("", domain.UserRoleUser, time.Now()); err == nil {
		t.Error("empty user id accepted")
	}
	if _, _, err := iss.IssueAccess("u", domain.UserRole("root"), time.Now()); err == nil {
		t.Error("unknown role accepted")
	}
}

func TestNewTokenIssuerSecretLength(t *testing.T) {
	short := []byte("0123456789abcdef0123456789abcde") // 31 bytes
	_, err := auth.NewTokenIssuer(auth.Config{Secret: short})
	if err == nil {
		t.Fatal("31-byte secret accepted")
	}
	if !strings.Contains(err.Error(), "at least 32 bytes") || strings.Contains(err.Error(), string(short)) {
		t.Errorf("error = %q: want a clear message without the secret", err)
	}
	if _, err := auth.NewTokenIssuer(auth.Config{}); err == nil {
		t.Error("missing secret accepted")
	}
	if _, err := auth.NewTokenIssuer(auth.Config{Secret: testSecret, AccessTTL: -time.Minute}); err == nil {
		t.Error("negative TTL accepted")
	}
}

func TestCustomIssuerAudience(t *testing.T) {
	cfg := auth.Config{Secret: testSecret, Issuer: "me", Audience: "them", AccessTTL: time.Minute}
	iss, err := auth.NewTokenIssuer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tok, ttl, err := iss.IssueAccess("u", domain.UserRoleUser, time.Now())
	if err != nil || ttl != time.Minute {
		t.Fatalf("IssueAccess: %v %v", ttl, err)
	}
	if _, err := iss.VerifyAccess(tok); err != nil {
		t.Errorf("own token rejected: %v", err)
	}
	if _, err := newIssuer(t).VerifyAccess(tok); err == nil {
		t.Error("default issuer accepted a token for another issuer/audience")
	}
}

func TestSecretCopied(t *testing.T) {
	secret := append([]byte(nil), testSecret...)
	iss, err := auth.NewTokenIssuer(auth.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, _ := iss.IssueAccess("u", domain.UserRoleUser, time.Now())
	secret[0] ^= 0xff
	if _, err := iss.VerifyAccess(tok); err != nil {
		t.Errorf("changing the caller's slice changed the key: %v", err)
	}
}

func TestConfigStringRedactsSecret(t *testing.T) {
	cfg := auth.Config{Secret: testSecret}
	for _, s := range []string{cfg.String(), cfg.GoString()} {
		if strings.Contains(s, string(testSecret)) || !strings.Contains(s, "REDACTED") {
			t.Errorf("config printed as %q", s)
		}
	}
}

// A token verified once is remembered, but never past its expiry.
func TestVerifiedTokenRefusedOnceExpired(t *testing.T) {
	iss := newIssuer(t)
	// Issued so that exp plus the 30s leeway falls 1s from now.
	tok, _, err := iss.IssueAccess("u", domain.UserRoleUser, time.Now().Add(-15*time.Minute-29*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := iss.VerifyAccess(tok); err != nil {
			t.Fatalf("token still within its leeway refused: %v", err)
		}
	}
	time.Sleep(1100 * time.Millisecond)
	if _, err := iss.VerifyAccess(tok); err == nil {
		t.Fatal("an expired token was accepted because it had been verified before")
	}
}
