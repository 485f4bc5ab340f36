package app

import (
	"context"
	"fmt"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// RegisterCmd opens an account.
type RegisterCmd struct {
	Email       string
	Password    string
	DisplayName string
}

// Register creates an account and logs it in.
type Register struct {
	accounts *Accounts
	minter   tokenMinter
}

// NewRegister builds the use case.
func NewRegister(accounts *Accounts, issuer ports.TokenIssuer, refresh ports.RefreshTokenRepository, ids ports.IDs, clock ports.Clock) *Register {
	return &Register{accounts: accounts, minter: newTokenMinter(issuer, refresh, ids, clock)}
}

// Handle registers a user with the plain role.
func (h *Register) Handle(ctx context.Context, cmd RegisterCmd) (AuthResult, error) {
	u, err := h.accounts.Create(ctx, cmd.Email, cmd.Password, cmd.DisplayName, domain.UserRoleUser)
	if err != nil {
		return AuthResult{}, err
	}
	return h.minter.mint(ctx, u, "")
}

// Accounts creates users; both registration and `chatd user create` use it.
type Accounts struct {
	users  ports.UserRepository
	hasher ports.PasswordHasher
	ids    ports.IDs
	clock  ports.Clock
}

// NewAccounts builds the account factory.
func NewAccounts(users ports.UserRepository, hasher ports.PasswordHasher, ids ports.IDs, clock ports.Clock) *Accounts {
	return &Accounts{users: users, hasher: hasher, ids: ids, clock: clock}
}

// Create validates, hashes and stores a new user. A taken email is a Conflict.
func (a *Accounts) Create(ctx context.Context, email, password, displayName string, role domain.UserRole) (*domain.User, error) {
	if err := domain.CheckPassword(password); err != nil {
		return nil, err
	}
	// Validate the rest before spending a hash on it.
	if _, err := domain.NewUser(a.ids.NewID(), email, displayName, "-", role, a.clock.Now()); err != nil {
		return nil, err
	}
	hash, err := a.hasher.Hash(password)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	u, err := domain.NewUser(a.ids.NewID(), email, displayName, hash, role, a.clock.Now())
	if err != nil {
		return nil, err
	}
	if err := a.users.Create(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}
