package storage

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

var _ ports.RefreshTokenRepository = (*RefreshTokenRepo)(nil)

// RefreshTokenRepo stores refresh-token families.
type RefreshTokenRepo struct{ db *DB }

// NewRefreshTokenRepo returns the refresh-token repository over db.
func NewRefreshTokenRepo(db *DB) *RefreshTokenRepo { return &RefreshTokenRepo{db: db} }

// Create inserts t unless its family was revoked; a retried insert of the
// same id is a no-op. The family lock makes the check and the insert one
// step against a concurrent RevokeFamily.
func (r *RefreshTokenRepo) Create(ctx context.Context, t domain.RefreshToken) error {
	row := refreshTokenToRow(t)
	err := r.db.inWriteTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := r.lockFamily(ctx, tx, t.FamilyID); err != nil {
			return err
		}
		revoked, err := tx.NewSelect().Model((*refreshTokenRow)(nil)).
			Where("rt.family_id = ?", t.FamilyID).Where("rt.revoked_at IS NOT NULL").Exists(ctx)
		if err != nil {
			return err
		}
		if revoked {
			return ports.ErrFamilyRevoked
		}
		_, err = tx.NewInsert().Model(&row).On("CONFLICT (id) DO NOTHING").Exec(ctx)
		return err
	})
	if errors.Is(err, ports.ErrFamilyRevoked) {
		return err
	}
	if isForeignKeyViolation(err) {
		return domain.NotFound("user")
	}
	return wrap("create refresh token", err)
}

// lockFamily serializes writes to one token family on PostgreSQL for the
// rest of the transaction; SQLite's single writer already does.
func (r *RefreshTokenRepo) lockFamily(ctx context.Context, tx bun.Tx, familyID string) error {
	if !r.db.isPostgres() {
		return nil
	}
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext(?))", familyID)
	return err
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
	err := r.db.inWriteTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := r.lockFamily(ctx, tx, familyID); err != nil {
			return err
		}
		_, err := tx.NewUpdate().Model((*refreshTokenRow)(nil)).
			Set("revoked_at = ?", dbTime(at)).
			Where("rt.family_id = ?", familyID).Where("rt.revoked_at IS NULL").
			Exec(ctx)
		return err
	})
	return wrap("revoke refresh token family", err)
}
