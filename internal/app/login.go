package app

import (
	"context"
	"fmt"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// LoginCmd carries credentials.
type LoginCmd struct {
	Email    string
	Password string
}

// Login exchanges credentials for a token pair.
type Login struct {
	users  ports.UserRepository
	hasher ports.PasswordHasher
	minter tokenMinter
}

// NewLogin builds the use case.
func NewLogin(users ports.UserRepository, hasher ports.PasswordHasher, issuer ports.TokenIssuer,
	refresh ports.RefreshTokenRepository, ids ports.IDs, clock ports.Clock,
) *Login {
	return &Login{users: users, hasher: hasher, minter: newTokenMinter(issuer, refresh, ids, clock)}
}

func badCredentials() error {
	return domain.Unauthenticated("bad-credentials", "the email or password is wrong")
}

// Handle answers the same error, after the same work, whether the email is
// unknown or the password wrong.
func (h *Login) Handle(ctx context.Context, cmd LoginCmd) (AuthResult, error) {
	email, err := domain.NormalizeEmail(cmd.Email)
	if err != nil {
		h.hasher.Waste(cmd.Password)
		return AuthResult{}, badCredentials()
	}
	u, err := h.users.GetByEmail(ctx, email)
	if domain.IsKind(err, domain.ErrNotFound) {
		h.hasher.Waste(cmd.Password)
		return AuthResult{}, badCredentials()
	}
	if err != nil {
		return AuthResult{}, err
	}
	ok, err := h.hasher.Verify(u.PasswordHash(), cmd.Password)
	if err != nil {
		return AuthResult{}, fmt.Errorf("verify password: %w", err)
	}
	if !ok {
		return AuthResult{}, badCredentials()
	}
	return h.minter.mint(ctx, u, "")
}
