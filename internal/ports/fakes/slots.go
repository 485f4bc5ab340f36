package fakes

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/ports"
)

var _ ports.GenerationSlots = (*GenerationSlots)(nil)

// GenerationSlots holds each user's slots in memory with their lapse time
// on the real clock (the contract's ttl is wall time, not the fake clock's),
// and can be made to fail.
type GenerationSlots struct {
	mu   sync.Mutex
	held map[string]map[string]time.Time // user → reply → lapses at
	fail error
}

// NewGenerationSlots returns empty slots.
func NewGenerationSlots() *GenerationSlots {
	return &GenerationSlots{held: map[string]map[string]time.Time{}}
}

// FailWith makes every call fail with err (nil: work again).
func (s *GenerationSlots) FailWith(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

// Acquire takes a slot unless limit live ones are held (limit <= 0: no limit).
func (s *GenerationSlots) Acquire(_ context.Context, userID, replyID string, limit int, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("acquire: ttl %v is not positive", ttl)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return false, s.fail
	}
	now := time.Now()
	replies := s.liveLocked(userID, now)
	if _, holds := replies[replyID]; !holds && limit > 0 && len(replies) >= limit {
		return false, nil
	}
	replies[replyID] = now.Add(ttl)
	return true, nil
}

// Renew extends the live slots among held.
func (s *GenerationSlots) Renew(_ context.Context, held []ports.HeldSlot, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("renew: ttl %v is not positive", ttl)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	now := time.Now()
	for _, h := range held {
		replies := s.liveLocked(h.UserID, now)
		if _, holds := replies[h.ReplyID]; holds {
			replies[h.ReplyID] = now.Add(ttl)
		}
	}
	return nil
}

// Release frees the slot, if held.
func (s *GenerationSlots) Release(_ context.Context, userID, replyID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	delete(s.held[userID], replyID)
	return nil
}

// Held counts userID's live slots.
func (s *GenerationSlots) Held(userID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.liveLocked(userID, time.Now()))
}

// liveLocked returns userID's slots without the lapsed ones.
func (s *GenerationSlots) liveLocked(userID string, now time.Time) map[string]time.Time {
	replies := s.held[userID]
	if replies == nil {
		replies = map[string]time.Time{}
		s.held[userID] = replies
	}
	for reply, lapses := range replies {
		if !now.Before(lapses) {
			delete(replies, reply)
		}
	}
	return replies
}
