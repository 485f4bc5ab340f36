package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/ports"
)

var _ ports.GenerationSlots = (*GenerationSlots)(nil)

// sweepEvery is how often Acquire also drops every user's lapsed slots, so
// a user who never returns does not keep their entries. Only slots a caller
// forgot to release lapse in one process, so the sweep rarely finds any.
const sweepEvery = time.Minute

// GenerationSlots counts each user's generating replies in this process:
// user → reply → the time the slot lapses unless renewed. It keeps the
// ttl like the shared stores do, so all pass one contract; a single
// process has one clock, so its monotonic reading is used.
type GenerationSlots struct {
	mu        sync.Mutex
	now       func() time.Time
	held      map[string]map[string]time.Time
	nextSweep time.Time
}

// NewGenerationSlots returns empty slots.
func NewGenerationSlots() *GenerationSlots { return newGenerationSlots(time.Now) }

// newGenerationSlots takes the clock; tests move it by hand.
func newGenerationSlots(now func() time.Time) *GenerationSlots {
	return &GenerationSlots{now: now, held: make(map[string]map[string]time.Time), nextSweep: now().Add(sweepEvery)}
}

// Acquire takes one of userID's slots for replyID, unless limit are held
// already; limit <= 0 is unlimited. A reply that holds a slot keeps it, for
// ttl from now.
func (s *GenerationSlots) Acquire(_ context.Context, userID, replyID string, limit int, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("acquire generation slot of %q: ttl %v is not positive", userID, ttl)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweepIfDue(now)
	replies := s.held[userID]
	dropLapsed(replies, now)
	if _, holds := replies[replyID]; !holds && limit > 0 && len(replies) >= limit {
		return false, nil
	}
	if replies == nil {
		replies = make(map[string]time.Time)
		s.held[userID] = replies
	}
	replies[replyID] = now.Add(ttl)
	return true, nil
}

// Renew keeps the held slots for ttl from now; a slot that lapsed or was
// released stays free.
func (s *GenerationSlots) Renew(_ context.Context, held []ports.HeldSlot, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("renew generation slots: ttl %v is not positive", ttl)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, h := range held {
		replies := s.held[h.UserID]
		dropLapsed(replies, now)
		if _, holds := replies[h.ReplyID]; holds {
			replies[h.ReplyID] = now.Add(ttl)
		}
		s.forgetIfEmpty(h.UserID)
	}
	return nil
}

// Release frees replyID's slot; releasing a free slot does nothing.
func (s *GenerationSlots) Release(_ context.Context, userID, replyID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.held[userID], replyID)
	s.forgetIfEmpty(userID)
	return nil
}

// dropLapsed deletes the slots whose lease ended at or before now.
func dropLapsed(replies map[string]time.Time, now time.Time) {
	for reply, expiry := range replies {
		if !now.Before(expiry) {
			delete(replies, reply)
		}
	}
}

// forgetIfEmpty drops a user with no slots, so memory follows the slots
// held, not the users ever seen. The caller holds s.mu.
func (s *GenerationSlots) forgetIfEmpty(userID string) {
	if replies, ok := s.held[userID]; ok && len(replies) == 0 {
		delete(s.held, userID)
	}
}

// sweepIfDue drops every lapsed slot once per sweepEvery. The caller holds
// s.mu.
func (s *GenerationSlots) sweepIfDue(now time.Time) {
	if now.Before(s.nextSweep) {
		return
	}
	s.nextSweep = now.Add(sweepEvery)
	for user, replies := range s.held {
		dropLapsed(replies, now)
		s.forgetIfEmpty(user)
	}
}

// users counts users with an entry; for tests.
func (s *GenerationSlots) users() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.held)
}
