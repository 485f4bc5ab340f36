package limitstest

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/ports"
)

// Plain reference implementations, each with switches that break it in one
// way. They exist to show the suites pass a correct implementation and
// fail each broken one (see mutants_test.go); the real ones live in the
// adapters.

type refLimiter struct {
	bug string
	mu  sync.Mutex
	tat map[string]time.Time
}

func newRefLimiter(bug string) *refLimiter {
	return &refLimiter{bug: bug, tat: make(map[string]time.Time)}
}

func (l *refLimiter) Allow(_ context.Context, key string, r ports.Rate, now time.Time) (bool, time.Duration, error) {
	if r.PerMinute <= 0 {
		if l.bug == "unlimited-refused" {
			return false, time.Second, nil
		}
		return true, 0, nil
	}
	switch l.bug {
	case "allow-all":
		return true, 0, nil
	case "one-budget":
		key = ""
	case "frozen-clock":
		now = time.Time{}
	}
	interval := time.Minute / time.Duration(r.PerMinute)
	capacity := interval * time.Duration(r.PerMinute)
	l.mu.Lock()
	defer l.mu.Unlock()
	tat, seen := l.tat[key]
	if !seen || (tat.Before(now) && l.bug != "overflowing-bucket") {
		tat = now
	}
	if l.bug == "clock-back-refills" && tat.Sub(now) > capacity {
		tat = now
	}
	next := tat.Add(interval)
	if wait := next.Sub(now) - capacity; wait > 0 {
		if l.bug == "refusal-spends" {
			l.tat[key] = next
		}
		if l.bug == "unrounded-retry" {
			return false, wait, nil
		}
		return false, max((wait+time.Second-1)/time.Second, 1) * time.Second, nil
	}
	l.tat[key] = next
	return true, 0, nil
}

type refSlots struct {
	bug  string
	mu   sync.Mutex
	held map[string]map[string]time.Time
	n    int
}

func newRefSlots(bug string) *refSlots {
	return &refSlots{bug: bug, held: make(map[string]map[string]time.Time)}
}

// prune drops userID's lapsed slots and returns them.
func (s *refSlots) prune(userID string, now time.Time) map[string]time.Time {
	replies := s.held[userID]
	if replies == nil {
		replies = make(map[string]time.Time)
		s.held[userID] = replies
	}
	for reply, expiry := range replies {
		if !now.Before(expiry) && s.bug != "no-lapse" {
			delete(replies, reply)
		}
	}
	return replies
}

func (s *refSlots) Acquire(_ context.Context, userID, replyID string, limit int, ttl time.Duration) (bool, error) {
	if ttl <= 0 && s.bug != "non-positive-ttl-accepted" {
		return false, errors.New("ttl is not positive")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	replies := s.prune(userID, now)
	_, holds := replies[replyID]
	switch s.bug {
	case "double-count":
		s.n++
		replyID, holds = replyID+"#"+strconv.Itoa(s.n), false
	case "no-max":
		limit = 0
	case "unlimited-refuses":
		if limit <= 0 {
			return false, nil
		}
	case "early-lapse":
		ttl /= 10
	case "acquire-no-refresh":
		if holds {
			return true, nil
		}
	}
	if !holds && limit > 0 && len(replies) >= limit {
		return false, nil
	}
	replies[replyID] = now.Add(ttl)
	return true, nil
}

func (s *refSlots) Renew(_ context.Context, held []ports.HeldSlot, ttl time.Duration) error {
	if ttl <= 0 && s.bug != "non-positive-ttl-accepted" {
		return errors.New("ttl is not positive")
	}
	if s.bug == "renew-noop" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for _, h := range held {
		replies := s.held[h.UserID]
		if s.bug != "renew-revives" {
			replies = s.prune(h.UserID, now)
		}
		if _, holds := replies[h.ReplyID]; holds {
			replies[h.ReplyID] = now.Add(ttl)
		}
	}
	return nil
}

func (s *refSlots) Release(_ context.Context, userID, replyID string) error {
	if s.bug == "release-noop" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bug == "release-any-user" {
		for _, replies := range s.held {
			delete(replies, replyID)
		}
	}
	delete(s.held[userID], replyID)
	return nil
}
