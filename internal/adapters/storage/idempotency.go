package storage

import (
	"context"
	"database/sql"
	"errors"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

var _ ports.IdempotencyRepository = (*IdempotencyRepo)(nil)

// IdempotencyRepo reads idempotency records; MessageRepo.CreateTurn writes
// them, in the same transaction as the messages they point at.
type IdempotencyRepo struct{ db *DB }

// NewIdempotencyRepo returns the idempotency repository over db.
func NewIdempotencyRepo(db *DB) *IdempotencyRepo { return &IdempotencyRepo{db: db} }

// Get returns the record of userID's key or NotFound("idempotency-key").
func (r *IdempotencyRepo) Get(ctx context.Context, userID, key string) (domain.IdempotencyRecord, error) {
	if !isCanonicalID(userID) {
		return domain.IdempotencyRecord{}, domain.NotFound("idempotency-key")
	}
	var row idempotencyRow
	err := r.db.read.NewSelect().Model(&row).Where("ik.user_id = ?", userID).Where("ik.key = ?", key).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.IdempotencyRecord{}, domain.NotFound("idempotency-key")
	}
	if err != nil {
		return domain.IdempotencyRecord{}, wrap("get idempotency key", err)
	}
	return idempotencyToDomain(row), nil
}
