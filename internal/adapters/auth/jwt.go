package auth

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// typAccess marks access tokens so that no other token this key might ever
// sign (a future refresh or invite JWT) is accepted in their place.
const typAccess = "access"

// maxTokenLen bounds what VerifyAccess will even parse. Our tokens are about
// 300 bytes; anything far larger is not ours and is not worth decoding.
const maxTokenLen = 4096

var _ ports.TokenIssuer = (*JWTIssuer)(nil)

// JWTIssuer issues and verifies HS256 access tokens and makes opaque refresh
// tokens.
type JWTIssuer struct {
	cfg      Config
	parser   *jwt.Parser
	verified *verifiedTokens
}

// NewTokenIssuer validates cfg (filling defaults) and refuses a secret shorter
// than MinSecretLen, so a weak deployment fails at start rather than in use.
func NewTokenIssuer(cfg Config) (*JWTIssuer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	// Keep our own copy: the caller's slice must not be able to change the key.
	cfg.Secret = append([]byte(nil), cfg.Secret...)
	return &JWTIssuer{
		cfg: cfg,
		// One pinned algorithm (RFC 8725 §3.1): "none", HS384/512 and any
		// asymmetric alg are refused before the key is consulted.
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience),
			jwt.WithLeeway(cfg.Leeway),
			jwt.WithStrictDecoding(),
		),
		verified: newVerifiedTokens(),
	}, nil
}

// accessClaims is the token's wire form.
type accessClaims struct {
	Role string `json:"role"`
	Typ  string `json:"typ"`
	jwt.RegisteredClaims
}

// Validate is called by the parser after the registered claims pass; it adds
// what the library cannot require on its own.
func (c accessClaims) Validate() error {
	switch {
	case c.IssuedAt == nil:
		return errors.New("iat is missing")
	case c.Subject == "":
		return errors.New("sub is missing")
	case c.Typ != typAccess:
		return errors.New("typ is not access")
	case domain.UserRole(c.Role) != domain.UserRoleUser && domain.UserRole(c.Role) != domain.UserRoleAdmin:
		return errors.New("role is unknown")
	}
	return nil
}

// IssueAccess signs an access token for userID valid for AccessTTL from now.
func (j *JWTIssuer) IssueAccess(userID string, role domain.UserRole, now time.Time) (string, time.Duration, error) {
	if userID == "" {
		return "", 0, errors.New("issue access token: empty user id")
	}
	if role != domain.UserRoleUser && role != domain.UserRoleAdmin {
		return "", 0, fmt.Errorf("issue access token: unknown role %q", role)
	}
	now = now.UTC()
	claims := accessClaims{
		Role: string(role),
		Typ:  typAccess,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    j.cfg.Issuer,
			Subject:   userID,
			Audience:  jwt.ClaimStrings{j.cfg.Audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(j.cfg.AccessTTL)),
			IssuedAt:  jwt.NewNumericDate(now),
			// A unique id lets a future deny-list name one token.
			ID: rand.Text(),
		},
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(j.cfg.Secret)
	if err != nil {
		return "", 0, fmt.Errorf("sign access token: %w", err)
	}
	return token, j.cfg.AccessTTL, nil
}

// VerifyAccess accepts only an unexpired HS256 access token signed with our
// key for our issuer and audience. Every failure is the same Unauthenticated
// error so that a client learns nothing about why; the cause is wrapped for
// the server's log only.
func (j *JWTIssuer) VerifyAccess(token string) (ports.AccessClaims, error) {
	if token == "" || len(token) > maxTokenLen {
		return ports.AccessClaims{}, invalidToken(errors.New("empty or oversized token"))
	}
	now := time.Now() // the parser's clock
	if claims, ok := j.verified.get(token, now); ok {
		return claims, nil
	}
	var claims accessClaims
	_, err := j.parser.ParseWithClaims(token, &claims, j.key)
	if err != nil {
		return ports.AccessClaims{}, invalidToken(err)
	}
	verified := ports.AccessClaims{UserID: claims.Subject, Role: domain.UserRole(claims.Role)}
	j.verified.put(token, verified, claims.ExpiresAt.Add(j.cfg.Leeway))
	return verified, nil
}

// key hands the parser our secret, checking the method again so that the key
// can never be used to verify anything but HS256 even if the parser's
// options change.
func (j *JWTIssuer) key(t *jwt.Token) (any, error) {
	if t.Method != jwt.SigningMethodHS256 {
		return nil, fmt.Errorf("unexpected signing method %v", t.Header["alg"])
	}
	return j.cfg.Secret, nil
}

// invalidToken builds a fresh error per call: domain errors are mutable and
// must not be shared between requests.
func invalidToken(cause error) error {
	e := domain.Unauthenticated("invalid-token", "the access token is missing, malformed or expired")
	e.Err = cause
	return e
}
