package storage

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

var _ ports.RefreshTokenRepository = (*RefreshTokenRepo)(nil)

// RefreshTokenRepo stores refresh-token families.
type RefreshTokenRepo struct{ db *DB }

// NewRefreshTokenRepo returns the refresh-token repository over db.
func NewRefreshTokenRepo(db *DB) *RefreshTokenRepo { return &RefreshTokenRepo{db: db} }

// Create inserts t; a retried insert of the same id is a no-op.
func (r *RefreshTokenRepo) Create(ctx context.Context, t domain.RefreshToken) error {
	row := refreshTokenToRow(t)
	_, err := r.db.write.NewInsert().Model(&row).On("CONFLICT (id) DO NOTHING").Exec(ctx)
	if isForeignKeyViolation(err) {
		return domain.NotFound("user")
	}
	return wrap("create refresh token", err)
}

// GetByHash returns the token with this hash or NotFound("refresh-token").
func (r *RefreshTokenRepo) GetByHash(ctx context.Context, hash string) (domain.RefreshToken, error) {
	var row refreshTokenRow
	err := r.db.read.NewSelect().Model(&row).Where("rt.token_hash = ?", hash).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.RefreshToken{}, domain.NotFound("refresh-token")
	}
	if err != nil {
		return domain.RefreshToken{}, wrap("get refresh token", err)
	}
	return refreshTokenToDomain(row), nil
}

// MarkUsed sets used_at only where it is unset, in one statement, so of two
// requests racing with the same token exactly one wins; the other sees false
// and treats the token as replayed.
func (r *RefreshTokenRepo) MarkUsed(ctx context.Context, id string, at time.Time) (bool, error) {
	if !isCanonicalID(id) {
		return false, nil
	}
	res, err := r.db.write.NewUpdate().Model((*refreshTokenRow)(nil)).
		Set("used_at = ?", dbTime(at)).
		Where("rt.id = ?", id).Where("rt.used_at IS NULL").
		Exec(ctx)
	if err != nil {
		return false, wrap("mark refresh token used", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, wrap("mark refresh token used", err)
	}
	return n == 1, nil
}

// RevokeFamily revokes every token of the family not revoked yet; earlier
// revocation times are kept.
func (r *RefreshTokenRepo) RevokeFamily(ctx context.Context, familyID string, at time.Time) error {
	if !isCanonicalID(familyID) {
		return nil
	}
	_, err := r.db.write.NewUpdate().Model((*refreshTokenRow)(nil)).
		Set("revoked_at = ?", dbTime(at)).
		Where("rt.family_id = ?", familyID).Where("rt.revoked_at IS NULL").
		Exec(ctx)
	return wrap("revoke refresh token family", err)
}
