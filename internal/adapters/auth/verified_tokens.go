package auth

import (
	"sync"
	"time"

	"github.com/chatd/chatd/internal/ports"
)

// maxVerifiedTokens bounds the cache; when full it starts over.
const maxVerifiedTokens = 8192

// verifiedTokens remembers access tokens that passed verification, until
// they expire. A client sends the same token with every request for its
// whole life, and decoding its JSON claims was the largest part of
// authenticating (more than the HMAC). Nothing about a verified token can
// change but time, so the cache only has to check the expiry again.
type verifiedTokens struct {
	mu     sync.RWMutex
	tokens map[string]verifiedToken
}

type verifiedToken struct {
	claims ports.AccessClaims
	until  time.Time // exp plus the leeway the parser allows
}

func newVerifiedTokens() *verifiedTokens {
	return &verifiedTokens{tokens: make(map[string]verifiedToken)}
}

func (v *verifiedTokens) get(token string, now time.Time) (ports.AccessClaims, bool) {
	v.mu.RLock()
	t, ok := v.tokens[token]
	v.mu.RUnlock()
	if !ok || !now.Before(t.until) {
		return ports.AccessClaims{}, false
	}
	return t.claims, true
}

func (v *verifiedTokens) put(token string, claims ports.AccessClaims, until time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.tokens) >= maxVerifiedTokens {
		clear(v.tokens)
	}
	v.tokens[token] = verifiedToken{claims: claims, until: until}
}
