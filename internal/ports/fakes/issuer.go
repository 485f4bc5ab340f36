package fakes

import (
	"fmt"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

var _ ports.TokenIssuer = (*TokenIssuer)(nil)

// TokenIssuer issues opaque access tokens ("access-N") remembered with their
// claims, and refresh tokens ("refresh-N") whose hash is "hash:" + token. No
// cryptography: a token is valid exactly when this issuer made it and it has
// not expired by the issuer's clock.
type TokenIssuer struct {
	mu         sync.Mutex
	now        func() time.Time
	accessTTL  time.Duration
	refreshTTL time.Duration
	n          int
	access     map[string]issuedAccess
}

type issuedAccess struct {
	claims  ports.AccessClaims
	expires time.Time
}

// NewTokenIssuer returns an issuer with a 15-minute access and a 30-day
// refresh lifetime; now is its clock for VerifyAccess (the real one reads the
// wall clock there).
func NewTokenIssuer(now func() time.Time) *TokenIssuer {
	return &TokenIssuer{now: now, accessTTL: 15 * time.Minute, refreshTTL: 720 * time.Hour,
		access: map[string]issuedAccess{}}
}

// SetTTLs changes the lifetimes of tokens issued from now on.
func (i *TokenIssuer) SetTTLs(access, refresh time.Duration) {
	i.mu.Lock()
	i.accessTTL, i.refreshTTL = access, refresh
	i.mu.Unlock()
}

// IssueAccess makes an access token for the user.
func (i *TokenIssuer) IssueAccess(userID string, role domain.UserRole, now time.Time) (string, time.Duration, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.n++
	token := fmt.Sprintf("access-%d", i.n)
	i.access[token] = issuedAccess{claims: ports.AccessClaims{UserID: userID, Role: role}, expires: now.Add(i.accessTTL)}
	return token, i.accessTTL, nil
}

// VerifyAccess answers the claims of a token this issuer made that has not
// expired, else an Unauthenticated "invalid-token", the same for every cause.
func (i *TokenIssuer) VerifyAccess(token string) (ports.AccessClaims, error) {
	i.mu.Lock()
	a, ok := i.access[token]
	i.mu.Unlock()
	if !ok || !i.now().Before(a.expires) {
		return ports.AccessClaims{}, domain.Unauthenticated("invalid-token", "the access token is missing, malformed or expired")
	}
	return a.claims, nil
}

// NewRefresh makes a refresh token and the hash to store.
func (i *TokenIssuer) NewRefresh() (token, hash string, err error) {
	i.mu.Lock()
	i.n++
	token = fmt.Sprintf("refresh-%d", i.n)
	i.mu.Unlock()
	return token, i.HashRefresh(token), nil
}

// HashRefresh hashes a presented refresh token.
func (i *TokenIssuer) HashRefresh(token string) string { return "hash:" + token }

// RefreshTTL is how long a refresh token lives.
func (i *TokenIssuer) RefreshTTL() time.Duration {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.refreshTTL
}
