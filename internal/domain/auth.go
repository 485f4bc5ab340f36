package domain

import "time"

// RefreshToken is one link of a rotation family. Only its hash is stored;
// presenting a token that was already used revokes the whole family.
type RefreshToken struct {
	ID        string
	FamilyID  string
	UserID    string
	TokenHash string
	ExpiresAt time.Time
	UsedAt    *time.Time
	RevokedAt *time.Time
	CreatedAt time.Time
}

// Usable reports whether the token may be exchanged now.
func (t RefreshToken) Usable(now time.Time) bool {
	return t.UsedAt == nil && t.RevokedAt == nil && now.Before(t.ExpiresAt)
}

// IsReplay reports a token presented again after rotation: a sign of theft.
func (t RefreshToken) IsReplay() bool { return t.UsedAt != nil || t.RevokedAt != nil }
