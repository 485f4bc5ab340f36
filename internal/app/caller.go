// Package app holds chatd's use cases: one handler per use case, each taking
// its ports by injection. It imports no adapter and no framework; fx appears
// only in module.go.
package app

import "github.com/chatd/chatd/internal/domain"

// Caller is the authenticated user a use case acts for. Adapters authenticate
// and build it; the app authorizes.
type Caller struct {
	UserID string
	Role   domain.UserRole
}

// IsAdmin reports a deployment administrator.
func (c Caller) IsAdmin() bool { return c.Role == domain.UserRoleAdmin }
