package storage

import (
	"context"
	"database/sql"
	"errors"

	"github.com/uptrace/bun"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

var _ ports.UserRepository = (*UserRepo)(nil)

// UserRepo stores accounts.
type UserRepo struct{ db *DB }

// NewUserRepo returns the user repository over db.
func NewUserRepo(db *DB) *UserRepo { return &UserRepo{db: db} }

// Create inserts u. A retried insert of the same id is a no-op (lib/pq may
// re-send after a broken connection); another account with the email is a
// Conflict "email-taken".
func (r *UserRepo) Create(ctx context.Context, u *domain.User) error {
	row := userToRow(u)
	err := r.db.inWrite(ctx, func(ctx context.Context, w bun.IDB) error {
		_, err := w.NewInsert().Model(&row).On("CONFLICT (id) DO NOTHING").Exec(ctx)
		return err
	})
	if isUniqueViolation(err) {
		return domain.Conflict("email-taken", "an account with this email already exists")
	}
	return wrap("create user", err)
}

// GetByID returns the user or NotFound("user").
func (r *UserRepo) GetByID(ctx context.Context, id string) (*domain.User, error) {
	if !isCanonicalID(id) {
		return nil, domain.NotFound("user")
	}
	return r.get(ctx, "get user", "u.id = ?", id)
}

// GetByEmail looks up an already normalized (lower-case) email.
func (r *UserRepo) GetByEmail(ctx context.Context, email string) (*domain.User, error) {
	return r.get(ctx, "get user by email", "u.email = ?", email)
}

func (r *UserRepo) get(ctx context.Context, op, where string, arg any) (*domain.User, error) {
	var row userRow
	err := r.db.read.NewSelect().Model(&row).Where(where, arg).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, domain.NotFound("user")
	}
	if err != nil {
		return nil, wrap(op, err)
	}
	return userToDomain(row), nil
}
