package domain

import (
	"net/mail"
	"strings"
	"time"
)

// UserRole is a deployment-wide role, distinct from a participant's role in a session.
type UserRole string

const (
	UserRoleUser  UserRole = "user"
	UserRoleAdmin UserRole = "admin"
)

// Password length bounds, in bytes of UTF-8: long enough to matter, short
// enough that hashing cannot be turned into a denial of service.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 1024
	maxEmailLen    = 254
	maxDisplayName = 100
)

// User is an account.
type User struct {
	id           string
	email        string
	displayName  string
	passwordHash string
	role         UserRole
	createdAt    time.Time
}

// NewUser validates and builds a user. The password must already be hashed;
// CheckPassword validates the plain text before hashing.
func NewUser(id, email, displayName, passwordHash string, role UserRole, now time.Time) (*User, error) {
	normalized, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	displayName = strings.TrimSpace(displayName)
	if err := checkText("display_name", displayName, 1, maxDisplayName); err != nil {
		return nil, err
	}
	if role != UserRoleUser && role != UserRoleAdmin {
		return nil, InvalidField("role", "must be one of user, admin")
	}
	return &User{
		id: id, email: normalized, displayName: displayName, passwordHash: passwordHash,
		role: role, createdAt: now.UTC(),
	}, nil
}

// RehydrateUser rebuilds a stored user without validation; storage only.
func RehydrateUser(id, email, displayName, passwordHash string, role UserRole, createdAt time.Time) *User {
	return &User{id: id, email: email, displayName: displayName, passwordHash: passwordHash, role: role, createdAt: createdAt}
}

// NormalizeEmail checks that s is a plain address and lower-cases it, so one
// mailbox maps to one account.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if err := checkText("email", s, 3, maxEmailLen); err != nil {
		return "", err
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" || !strings.Contains(s, "@") {
		return "", InvalidField("email", "must be a valid email address")
	}
	return strings.ToLower(s), nil
}

// CheckPassword validates a plain-text password before it is hashed.
func CheckPassword(password string) error {
	if len(password) < MinPasswordLen {
		return InvalidField("password", "must be at least 8 characters")
	}
	if len(password) > MaxPasswordLen {
		return InvalidField("password", "must be at most 1024 bytes")
	}
	if err := checkText("password", password, 1, 0); err != nil {
		return err
	}
	return nil
}

func (u *User) ID() string           { return u.id }
func (u *User) Email() string        { return u.email }
func (u *User) DisplayName() string  { return u.displayName }
func (u *User) PasswordHash() string { return u.passwordHash }
func (u *User) Role() UserRole       { return u.role }
func (u *User) CreatedAt() time.Time { return u.createdAt }
func (u *User) IsAdmin() bool        { return u.role == UserRoleAdmin }
