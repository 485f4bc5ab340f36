package fakes

import (
	"context"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

var _ ports.IdempotencyRepository = (*IdempotencyRepo)(nil)

// IdempotencyRepo reads the records MessageRepo.CreateTurn writes.
type IdempotencyRepo struct{ s *Store }

// Get returns the record of the user's key or NotFound("idempotency-key").
func (r *IdempotencyRepo) Get(ctx context.Context, userID, key string) (domain.IdempotencyRecord, error) {
	if err := r.s.enter(ctx, "idempotency.Get"); err != nil {
		return domain.IdempotencyRecord{}, err
	}
	defer r.s.mu.Unlock()
	rec, ok := r.s.idempotency[idempotencyKey{userID, key}]
	if !ok || !isCanonicalID(userID) {
		return domain.IdempotencyRecord{}, domain.NotFound("idempotency-key")
	}
	rec.AssistantMessageID = clonePtr(rec.AssistantMessageID)
	return rec, nil
}
