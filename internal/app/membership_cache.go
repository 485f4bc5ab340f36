package app

import (
	"sync"
	"time"

	"github.com/chatd/chatd/internal/domain"
)

// membershipCache keeps the sessions and memberships access checks read,
// each under the seq of its session's newest event when it was read, as
// pageCache keeps pages: every change to a session (its messages, its
// current branch, its settings, its deletion) is stored, then announced
// with a new seq, so while the seq is still the entry's, storage would
// answer the same. A removal is not announced with a seq: it revokes the
// session's entries at once, and a check that was reading storage while a
// removal happened anywhere keeps its answer to itself (the revocation
// count moved), so no entry outlives a removal. Only a sole process may
// use it: a removal made by another process would not revoke this one's
// entries.
type membershipCache struct {
	mu       sync.Mutex
	entries  map[membershipKey]cachedMembership
	revoked  uint64 // revocations so far
	sessions map[string]map[membershipKey]struct{}
}

type membershipKey struct{ sessionID, userID string }

type cachedMembership struct {
	seq         int64
	readAt      time.Time
	session     *domain.ChatSession // never handed out: callers get clones
	participant domain.Participant
}

// membershipRead is a storage read about to happen, which may fill the cache.
type membershipRead struct {
	key     membershipKey
	seq     int64
	readAt  time.Time
	revoked uint64
	valid   bool
}

const (
	membershipTTL        = pageTTL
	maxCachedMemberships = 16384 // then the cache starts over: a bound, not a policy
)

func newMembershipCache() *membershipCache {
	return &membershipCache{entries: map[membershipKey]cachedMembership{}, sessions: map[string]map[membershipKey]struct{}{}}
}

func (c *membershipCache) get(k membershipKey, seq int64, now time.Time) (*domain.ChatSession, domain.Participant, bool) {
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	if !ok || e.seq != seq || now.Sub(e.readAt) > membershipTTL || now.Before(e.readAt) {
		return nil, domain.Participant{}, false
	}
	return e.session.Clone(), e.participant, true
}

// beforeRead notes the moment a storage read starts.
func (c *membershipCache) beforeRead(k membershipKey, seq int64, now time.Time) membershipRead {
	c.mu.Lock()
	defer c.mu.Unlock()
	return membershipRead{key: k, seq: seq, readAt: now, revoked: c.revoked, valid: true}
}

// put keeps what the read found, unless a revocation came while it ran.
func (c *membershipCache) put(r membershipRead, s *domain.ChatSession, p domain.Participant) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.revoked != r.revoked {
		return
	}
	if len(c.entries) >= maxCachedMemberships {
		clear(c.entries)
		clear(c.sessions)
	}
	c.entries[r.key] = cachedMembership{seq: r.seq, readAt: r.readAt, session: s.Clone(), participant: p}
	keys := c.sessions[r.key.sessionID]
	if keys == nil {
		keys = map[membershipKey]struct{}{}
		c.sessions[r.key.sessionID] = keys
	}
	keys[r.key] = struct{}{}
}

func (c *membershipCache) revoke(sessionID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.revoked++
	for k := range c.sessions[sessionID] {
		delete(c.entries, k)
	}
	delete(c.sessions, sessionID)
}
