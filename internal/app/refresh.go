package app

import (
	"context"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// Refresh rotates a refresh token. Presenting one that was already rotated
// means it leaked: the whole family is revoked and the caller must log in.
type Refresh struct {
	issuer ports.TokenIssuer
	tokens ports.RefreshTokenRepository
	users  ports.UserRepository
	clock  ports.Clock
	minter tokenMinter
}

// NewRefresh builds the use case.
func NewRefresh(issuer ports.TokenIssuer, tokens ports.RefreshTokenRepository, users ports.UserRepository,
	ids ports.IDs, clock ports.Clock,
) *Refresh {
	return &Refresh{issuer: issuer, tokens: tokens, users: users, clock: clock,
		minter: newTokenMinter(issuer, tokens, ids, clock)}
}

func invalidRefresh() error {
	return domain.Unauthenticated("invalid-refresh-token", "the refresh token is invalid, expired or already used")
}

// Handle exchanges a refresh token for a new pair of the same family.
func (h *Refresh) Handle(ctx context.Context, refreshToken string) (AuthResult, error) {
	t, err := h.tokens.GetByHash(ctx, h.issuer.HashRefresh(refreshToken))
	if domain.IsKind(err, domain.ErrNotFound) {
		return AuthResult{}, invalidRefresh()
	}
	if err != nil {
		return AuthResult{}, err
	}
	now := h.clock.Now()
	if t.IsReplay() {
		if err := h.tokens.RevokeFamily(ctx, t.FamilyID, now); err != nil {
			return AuthResult{}, err
		}
		return AuthResult{}, invalidRefresh()
	}
	if !t.Usable(now) {
		return AuthResult{}, invalidRefresh()
	}
	won, err := h.tokens.MarkUsed(ctx, t.ID, now)
	if err != nil {
		return AuthResult{}, err
	}
	if !won {
		// Two requests raced with one token: treat the loser as a replay.
		if err := h.tokens.RevokeFamily(ctx, t.FamilyID, now); err != nil {
			return AuthResult{}, err
		}
		return AuthResult{}, invalidRefresh()
	}
	u, err := h.users.GetByID(ctx, t.UserID)
	if err != nil {
		return AuthResult{}, err
	}
	return h.minter.mint(ctx, u, t.FamilyID)
}
