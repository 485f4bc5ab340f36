package app

import (
	"context"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// Logout revokes the family of a refresh token. Unknown tokens are ignored so
// that logout is idempotent and reveals nothing.
type Logout struct {
	issuer ports.TokenIssuer
	tokens ports.RefreshTokenRepository
	clock  ports.Clock
}

// NewLogout builds the use case.
func NewLogout(issuer ports.TokenIssuer, tokens ports.RefreshTokenRepository, clock ports.Clock) *Logout {
	return &Logout{issuer: issuer, tokens: tokens, clock: clock}
}

// Handle revokes the token's family.
func (h *Logout) Handle(ctx context.Context, refreshToken string) error {
	t, err := h.tokens.GetByHash(ctx, h.issuer.HashRefresh(refreshToken))
	if domain.IsKind(err, domain.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return h.tokens.RevokeFamily(ctx, t.FamilyID, h.clock.Now())
}
