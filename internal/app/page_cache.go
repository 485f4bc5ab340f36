package app

import (
	"sync"
	"time"

	"github.com/chatd/chatd/internal/ports"
)

// pageCache keeps recent pages of messages, each under the seq of its
// session's newest event when it was read. Every change to a session's
// messages is stored, then announced with a new seq, so a page read at seq
// S holds at least every change up to S: while the session's seq is still
// S, the page is as new as storage would give (save the text a streaming
// reply flushed since, which its deltas already carried). pageTTL bounds how
// long a page may outlive a change whose announcement the broker refused.
type pageCache struct {
	mu    sync.Mutex
	pages map[pageKey]cachedPage
}

type pageKey struct {
	sessionID string
	query     ports.MessageQuery
}

type cachedPage struct {
	seq    int64
	readAt time.Time
	page   *MessagePage
}

const (
	pageTTL        = 2 * time.Second
	maxCachedPages = 4096 // then the cache starts over: a bound, not a policy
)

func newPageCache() *pageCache { return &pageCache{pages: map[pageKey]cachedPage{}} }

// get returns the page read at seq, if it is still fresh.
func (c *pageCache) get(k pageKey, seq int64, now time.Time) (*MessagePage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pages[k]
	if !ok || p.seq != seq || now.Sub(p.readAt) > pageTTL || now.Before(p.readAt) {
		return nil, false
	}
	return p.page, true
}

func (c *pageCache) put(k pageKey, seq int64, readAt time.Time, page *MessagePage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pages) >= maxCachedPages {
		clear(c.pages)
	}
	c.pages[k] = cachedPage{seq: seq, readAt: readAt, page: page}
}
