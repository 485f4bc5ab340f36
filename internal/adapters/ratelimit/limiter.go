// Package ratelimit keeps per-key rate budgets in this process's memory.
package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/ports"
)

// DefaultMaxKeys bounds the limiter's memory: about 120 bytes per key with
// UUID-sized keys (measured), so about 12 MB when full.
const DefaultMaxKeys = 100_000

// maxShards is enough to make lock contention negligible on the small
// machines chatd runs on without spreading a small key budget too thin.
const maxShards = 32

var _ ports.RateLimiter = (*Limiter)(nil)

// Limiter is a token bucket per key: capacity PerMinute, refilled at
// PerMinute per minute, so a caller may burst its whole minute's allowance
// and then proceeds at the steady rate.
//
// Each bucket is stored as one timestamp, the "theoretical arrival time" of
// the generic cell rate algorithm (GCRA), which is the same bucket in other
// words: the bucket is empty up to tat-capacity and full once tat <= now.
// That makes the state one int64 and the arithmetic exact.
//
// Memory is bounded by maxKeys. Keys are spread over shards by a seeded hash
// (so a client cannot aim at one shard), each with its own mutex and an LRU
// list; a full shard evicts its least recently used key. That key has
// usually refilled (a full bucket carries no state); if not, it starts over
// with a full bucket, the price of bounded memory. Flooding enough distinct
// keys to force that within one refill window needs as many distinct keys
// as the limiter holds.
type Limiter struct {
	seed   maphash.Seed
	mask   uint64
	shards []shard
}

type shard struct {
	mu       sync.Mutex
	buckets  map[string]*bucket
	capacity int
	lru      bucket   // sentinel: lru.next is the most recent, lru.prev the least
	_        [64]byte // keeps neighbouring shards' mutexes on separate cache lines
}

type bucket struct {
	key        string
	tat        int64 // unix nanoseconds
	prev, next *bucket
}

// New returns a limiter holding at most maxKeys keys; maxKeys <= 0 means
// DefaultMaxKeys.
func New(maxKeys int) *Limiter {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	n := 1
	for n*2 <= maxShards && n*2 <= maxKeys {
		n *= 2
	}
	return newLimiter(maxKeys, n)
}

// newLimiter takes a power-of-two shard count; tests use one shard to make
// eviction order observable.
func newLimiter(maxKeys, shards int) *Limiter {
	l := &Limiter{seed: maphash.MakeSeed(), mask: uint64(shards - 1), shards: make([]shard, shards)}
	for i := range l.shards {
		s := &l.shards[i]
		// Rounding down keeps the total at or under maxKeys.
		s.capacity = max(1, maxKeys/shards)
		s.buckets = make(map[string]*bucket)
		s.lru.next, s.lru.prev = &s.lru, &s.lru
	}
	return l
}

// Allow spends one event of key's budget at rate, as of now.
func (l *Limiter) Allow(_ context.Context, key string, rate ports.Rate, now time.Time) (bool, time.Duration, error) {
	ok, retry := l.take(key, rate, now)
	return ok, retry, nil
}

// take spends one event of key's bucket.
func (l *Limiter) take(key string, rate ports.Rate, now time.Time) (bool, time.Duration) {
	if rate.PerMinute <= 0 {
		return true, 0
	}
	interval := int64(time.Minute) / int64(rate.PerMinute) // time to refill one token
	if interval == 0 {
		return true, 0 // over a billion a second: nothing to limit
	}
	capacity := interval * int64(rate.PerMinute) // the whole bucket, in time
	t := now.UnixNano()

	s := &l.shards[maphash.String(l.seed, key)&l.mask]
	s.mu.Lock()
	b := s.touch(key, t)
	next := max(b.tat, t) + interval
	if wait := next - capacity - t; wait > 0 {
		s.mu.Unlock()
		return false, roundUpToSecond(wait)
	}
	b.tat = next
	s.mu.Unlock()
	return true, 0
}

// touch returns key's bucket, creating a full one if needed, and marks it
// most recently used. The caller holds s.mu.
func (s *shard) touch(key string, now int64) *bucket {
	if b, ok := s.buckets[key]; ok {
		s.unlink(b)
		s.pushFront(b)
		return b
	}
	var b *bucket
	if len(s.buckets) >= s.capacity {
		// Reuse the evicted bucket so a flood of new keys does not allocate.
		b = s.lru.prev
		s.unlink(b)
		delete(s.buckets, b.key)
	} else {
		b = &bucket{}
	}
	b.key, b.tat = key, now
	s.buckets[key] = b
	s.pushFront(b)
	return b
}

func (s *shard) unlink(b *bucket) {
	b.prev.next, b.next.prev = b.next, b.prev
	b.prev, b.next = nil, nil
}

func (s *shard) pushFront(b *bucket) {
	b.prev, b.next = &s.lru, s.lru.next
	s.lru.next.prev = b
	s.lru.next = b
}

// roundUpToSecond turns a wait into a Retry-After value: whole seconds,
// never zero, so a client that obeys it finds a token.
func roundUpToSecond(ns int64) time.Duration {
	secs := (ns + int64(time.Second) - 1) / int64(time.Second)
	return time.Duration(max(secs, 1)) * time.Second
}

// size counts stored keys; for tests.
func (l *Limiter) size() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.buckets)
		s.mu.Unlock()
	}
	return n
}
