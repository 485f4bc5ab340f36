package ports

import (
	"time"

	"github.com/chatd/chatd/internal/domain"
)

// PasswordHasher hashes and verifies passwords.
type PasswordHasher interface {
	Hash(password string) (string, error)
	// Verify reports whether password matches hash.
	Verify(hash, password string) (bool, error)
	// Waste spends the time of one verification, so a login for an unknown
	// email takes as long as one with a wrong password.
	Waste(password string)
}

// AccessClaims are what an access token proves.
type AccessClaims struct {
	UserID string
	Role   domain.UserRole
}

// TokenIssuer issues and checks access tokens and makes opaque refresh tokens.
type TokenIssuer interface {
	IssueAccess(userID string, role domain.UserRole, now time.Time) (token string, expiresIn time.Duration, err error)
	// VerifyAccess fails with an Unauthenticated error for any token it did not issue or that expired.
	VerifyAccess(token string) (AccessClaims, error)
	// NewRefresh returns a random opaque token and the hash to store.
	NewRefresh() (token, hash string, err error)
	// HashRefresh hashes a presented refresh token for lookup.
	HashRefresh(token string) string
	RefreshTTL() time.Duration
}
