package fakes

import (
	"context"
	"fmt"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

var _ ports.RefreshTokenRepository = (*RefreshTokenRepo)(nil)

// RefreshTokenRepo is the store's refresh_tokens table.
type RefreshTokenRepo struct{ s *Store }

func storedToken(t domain.RefreshToken) domain.RefreshToken {
	t.ExpiresAt, t.CreatedAt = dbTime(t.ExpiresAt), dbTime(t.CreatedAt)
	t.UsedAt, t.RevokedAt = dbTimePtr(t.UsedAt), dbTimePtr(t.RevokedAt)
	return t
}

// Create stores t; the same id again is a no-op (a retried insert), a
// missing user is NotFound("user") and a hash already stored is refused.
func (r *RefreshTokenRepo) Create(ctx context.Context, t domain.RefreshToken) error {
	if err := r.s.enter(ctx, "tokens.Create"); err != nil {
		return err
	}
	defer r.s.mu.Unlock()
	if _, ok := r.s.tokens[t.ID]; ok {
		return nil
	}
	if _, ok := r.s.users[t.UserID]; !ok {
		return domain.NotFound("user")
	}
	for _, other := range r.s.tokens {
		if other.FamilyID == t.FamilyID && other.RevokedAt != nil {
			return ports.ErrFamilyRevoked
		}
		if other.TokenHash == t.TokenHash {
			return fmt.Errorf("create refresh token: duplicate key value violates unique constraint (token_hash)")
		}
	}
	r.s.tokens[t.ID] = storedToken(t)
	return nil
}

// GetByHash returns the token with this hash or NotFound("refresh-token").
func (r *RefreshTokenRepo) GetByHash(ctx context.Context, hash string) (domain.RefreshToken, error) {
	if err := r.s.enter(ctx, "tokens.GetByHash"); err != nil {
		return domain.RefreshToken{}, err
	}
	defer r.s.mu.Unlock()
	for _, t := range r.s.tokens {
		if t.TokenHash == hash {
			return storedToken(t), nil
		}
	}
	return domain.RefreshToken{}, domain.NotFound("refresh-token")
}

// MarkUsed sets used_at only where it is unset: of two callers racing with
// one token exactly one gets true.
func (r *RefreshTokenRepo) MarkUsed(ctx context.Context, id string, at time.Time) (bool, error) {
	if err := r.s.enter(ctx, "tokens.MarkUsed"); err != nil {
		return false, err
	}
	defer r.s.mu.Unlock()
	t, ok := r.s.tokens[id]
	if !ok || t.UsedAt != nil {
		return false, nil
	}
	used := dbTime(at)
	t.UsedAt = &used
	r.s.tokens[id] = t
	return true, nil
}

// RevokeFamily revokes every token of the family not revoked yet; earlier
// revocation times are kept.
func (r *RefreshTokenRepo) RevokeFamily(ctx context.Context, familyID string, at time.Time) error {
	if err := r.s.enter(ctx, "tokens.RevokeFamily"); err != nil {
		return err
	}
	defer r.s.mu.Unlock()
	revoked := dbTime(at)
	for id, t := range r.s.tokens {
		if t.FamilyID == familyID && t.RevokedAt == nil {
			v := revoked
			t.RevokedAt = &v
			r.s.tokens[id] = t
		}
	}
	return nil
}

// RefreshTokenRows lists every stored token, for tests that look at families.
func (s *Store) RefreshTokenRows() []domain.RefreshToken {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]domain.RefreshToken, 0, len(s.tokens))
	for _, t := range s.tokens {
		out = append(out, storedToken(t))
	}
	return out
}
