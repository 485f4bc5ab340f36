package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// AuthResult is what register, login and refresh answer.
type AuthResult struct {
	User         *domain.User
	AccessToken  string
	RefreshToken string
	ExpiresIn    time.Duration
}

// tokenMinter issues an access token and a refresh token of a family.
type tokenMinter struct {
	issuer  ports.TokenIssuer
	refresh ports.RefreshTokenRepository
	ids     ports.IDs
	clock   ports.Clock
}

func newTokenMinter(issuer ports.TokenIssuer, refresh ports.RefreshTokenRepository, ids ports.IDs, clock ports.Clock) tokenMinter {
	return tokenMinter{issuer: issuer, refresh: refresh, ids: ids, clock: clock}
}

// mint issues a pair; an empty familyID starts a new family (a new login).
func (m tokenMinter) mint(ctx context.Context, u *domain.User, familyID string) (AuthResult, error) {
	now := m.clock.Now()
	access, expiresIn, err := m.issuer.IssueAccess(u.ID(), u.Role(), now)
	if err != nil {
		return AuthResult{}, fmt.Errorf("issue access token: %w", err)
	}
	token, hash, err := m.issuer.NewRefresh()
	if err != nil {
		return AuthResult{}, fmt.Errorf("make refresh token: %w", err)
	}
	if familyID == "" {
		familyID = m.ids.NewID()
	}
	err = m.refresh.Create(ctx, domain.RefreshToken{
		ID: m.ids.NewID(), FamilyID: familyID, UserID: u.ID(), TokenHash: hash,
		ExpiresAt: now.Add(m.issuer.RefreshTTL()), CreatedAt: now,
	})
	if errors.Is(err, ports.ErrFamilyRevoked) {
		// A concurrent reuse revoked the family while this rotation ran.
		return AuthResult{}, invalidRefresh()
	}
	if err != nil {
		return AuthResult{}, fmt.Errorf("store refresh token: %w", err)
	}
	return AuthResult{User: u, AccessToken: access, RefreshToken: token, ExpiresIn: expiresIn}, nil
}
