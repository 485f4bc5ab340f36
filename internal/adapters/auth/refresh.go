package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"
)

// refreshTokenBytes is the refresh token's entropy: 256 bits cannot be guessed,
// so a fast unsalted hash is enough to store it (unlike a password).
const refreshTokenBytes = 32

// NewRefresh returns a random opaque refresh token for the client and the hash
// to store; the token itself is never stored.
func (j *JWTIssuer) NewRefresh() (token, hash string, err error) {
	b := make([]byte, refreshTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("new refresh token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, j.HashRefresh(token), nil
}

// HashRefresh hashes a presented refresh token for lookup by hash.
func (j *JWTIssuer) HashRefresh(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// RefreshTTL is how long a refresh token lives.
func (j *JWTIssuer) RefreshTTL() time.Duration { return j.cfg.RefreshTTL }
