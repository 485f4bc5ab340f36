package app

import (
	"sync"
	"time"

	"github.com/chatd/chatd/internal/domain"
)

// branchCache keeps, per session, the history a reply was generated from
// followed by the reply itself: the next turn's prompt, read without
// storage. An entry stands for the session at the seq of the reply's end
// event. It is put only when every event between the read of that history
// and the end was the run's own (its turn's messages, its deltas, its end),
// so nothing else changed the session's messages meanwhile; and every change
// to a session's messages is stored, then announced with a new seq. So while
// the session's newest seq is still the entry's, storage would give the same
// messages. branchTTL bounds how long an entry may outlive a change whose
// announcement the broker refused.
type branchCache struct {
	mu        sync.Mutex
	bySession map[string]cachedBranch
}

type cachedBranch struct {
	tipID    string
	seq      int64
	storedAt time.Time
	messages []*domain.ChatMessage // oldest first, ending with the tip; read only
	toRoot   bool                  // messages begin at the branch's first message
}

const (
	branchTTL         = time.Minute
	maxCachedBranches = 4096 // then the cache starts over: a bound, not a policy
)

func newBranchCache() *branchCache { return &branchCache{bySession: map[string]cachedBranch{}} }

// get returns the last n messages of the branch ending at tipID, when the
// session is still at seq and the entry holds n of them (or the whole branch).
func (c *branchCache) get(sessionID, tipID string, seq int64, n int, now time.Time) ([]*domain.ChatMessage, bool) {
	c.mu.Lock()
	b, ok := c.bySession[sessionID]
	c.mu.Unlock()
	if !ok || b.tipID != tipID || b.seq != seq || now.Sub(b.storedAt) > branchTTL || now.Before(b.storedAt) {
		return nil, false
	}
	if len(b.messages) < n && !b.toRoot {
		return nil, false
	}
	if len(b.messages) > n {
		return append([]*domain.ChatMessage(nil), b.messages[len(b.messages)-n:]...), true
	}
	return append([]*domain.ChatMessage(nil), b.messages...), true
}

func (c *branchCache) put(sessionID string, b cachedBranch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.bySession) >= maxCachedBranches {
		clear(c.bySession)
	}
	c.bySession[sessionID] = b
}
