// Package auth authenticates: it hashes passwords with argon2id, issues and
// checks HS256 access tokens, and makes opaque refresh tokens. Deciding what
// an authenticated caller may do is the app's job, not this package's.
package auth

import (
	"errors"
	"fmt"
	"time"
)

// MinSecretLen is the shortest HMAC key accepted: HS256 is only as strong as
// its key, and RFC 8725 asks for at least the hash size (32 bytes).
const MinSecretLen = 32

// Defaults applied to zero Config fields.
const (
	DefaultIssuer     = "chatd"
	DefaultAudience   = "chatd-api"
	DefaultAccessTTL  = 15 * time.Minute
	DefaultRefreshTTL = 30 * 24 * time.Hour
	DefaultLeeway     = 30 * time.Second
)

// Config is the auth module's piece of the deployment configuration. Zero
// fields take the defaults above; Secret has none and must be set.
type Config struct {
	Secret     []byte
	Issuer     string
	Audience   string
	AccessTTL  time.Duration
	RefreshTTL time.Duration
	// Leeway absorbs clock skew between the process that issued a token and
	// the one checking it.
	Leeway time.Duration
	// Argon2 tunes password hashing; the zero value means DefaultArgon2Params.
	Argon2 Argon2Params
}

// withDefaults fills zero fields and rejects values that would weaken tokens.
// The error never contains the secret.
func (c Config) withDefaults() (Config, error) {
	if len(c.Secret) < MinSecretLen {
		return c, fmt.Errorf("auth config: the JWT secret must be at least %d bytes of random data, got %d bytes",
			MinSecretLen, len(c.Secret))
	}
	if c.Issuer == "" {
		c.Issuer = DefaultIssuer
	}
	if c.Audience == "" {
		c.Audience = DefaultAudience
	}
	if c.AccessTTL == 0 {
		c.AccessTTL = DefaultAccessTTL
	}
	if c.RefreshTTL == 0 {
		c.RefreshTTL = DefaultRefreshTTL
	}
	if c.Leeway == 0 {
		c.Leeway = DefaultLeeway
	}
	if c.AccessTTL < 0 || c.RefreshTTL < 0 || c.Leeway < 0 {
		return c, errors.New("auth config: token lifetimes and leeway must not be negative")
	}
	return c, nil
}

// String redacts the secret so that a config dump or a %v in a log line
// cannot print it.
func (c Config) String() string {
	return fmt.Sprintf("auth.Config{Secret:[REDACTED %d bytes] Issuer:%q Audience:%q AccessTTL:%s RefreshTTL:%s Leeway:%s Argon2:%+v}",
		len(c.Secret), c.Issuer, c.Audience, c.AccessTTL, c.RefreshTTL, c.Leeway, c.Argon2)
}

// GoString redacts the secret from %#v as well.
func (c Config) GoString() string { return c.String() }
