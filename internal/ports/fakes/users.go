package fakes

import (
	"context"
	"fmt"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

var _ ports.UserRepository = (*UserRepo)(nil)

// UserRepo is the store's users table.
type UserRepo struct{ s *Store }

func userOut(u *domain.User) *domain.User {
	return domain.RehydrateUser(u.ID(), u.Email(), u.DisplayName(), u.PasswordHash(), u.Role(), dbTime(u.CreatedAt()))
}

// Create stores u. The same id again is a no-op (a retried insert); another
// account with the email is a Conflict "email-taken".
func (r *UserRepo) Create(ctx context.Context, u *domain.User) error {
	if err := r.s.enter(ctx, "users.Create"); err != nil {
		return err
	}
	defer r.s.mu.Unlock()
	if _, ok := r.s.users[u.ID()]; ok {
		return nil
	}
	for _, other := range r.s.users {
		if other.Email() == u.Email() {
			return domain.Conflict("email-taken", "an account with this email already exists")
		}
	}
	if err := checkStoredText(u.Email() + u.DisplayName()); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	r.s.users[u.ID()] = userOut(u)
	return nil
}

// GetByID returns the user or NotFound("user").
func (r *UserRepo) GetByID(ctx context.Context, id string) (*domain.User, error) {
	if err := r.s.enter(ctx, "users.GetByID"); err != nil {
		return nil, err
	}
	defer r.s.mu.Unlock()
	u, ok := r.s.users[id]
	if !ok || !isCanonicalID(id) {
		return nil, domain.NotFound("user")
	}
	return userOut(u), nil
}

// GetByEmail looks up an already normalized email, exactly.
func (r *UserRepo) GetByEmail(ctx context.Context, email string) (*domain.User, error) {
	if err := r.s.enter(ctx, "users.GetByEmail"); err != nil {
		return nil, err
	}
	defer r.s.mu.Unlock()
	for _, u := range r.s.users {
		if u.Email() == email {
			return userOut(u), nil
		}
	}
	return nil, domain.NotFound("user")
}
