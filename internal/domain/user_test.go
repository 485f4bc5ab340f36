package domain

import (
	"strings"
	"testing"
	"time"
)

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"ada@example.com":        "ada@example.com",
		"  Ada@Example.COM\n":    "ada@example.com",
		"a@b":                    "a@b",
		"a.b+tag@ex-ample.co.uk": "a.b+tag@ex-ample.co.uk",
		"José@Example.com":       "josé@example.com",
		strings.Repeat("a", 64) + "@" + strings.Repeat("b", 189): strings.Repeat("a", 64) + "@" + strings.Repeat("b", 189),
	} {
		got, err := NormalizeEmail(in)
		if err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "   ", "a@", "@b.c", "ab", "no-at-sign", "a@@b.c", "a@b (comment)", "Ada <ada@example.com>",
		"<ada@example.com>", `"a b"@example.com`, "a@b\x00c", "a@b\xffc", "a b@example.com",
		"ada@example.com, eve@example.com",
		strings.Repeat("a", 64) + "@" + strings.Repeat("b", 190), // 255 characters
	} {
		got, err := NormalizeEmail(in)
		if err == nil {
			t.Errorf("NormalizeEmail(%q) = %q, want refused", in, got)
			continue
		}
		if de, ok := AsError(err); !ok || de.Kind != ErrInvalid || de.Fields[0].Field != "email" {
			t.Errorf("NormalizeEmail(%q) error %v, want an invalid email field", in, err)
		}
	}
}

// Password bounds count bytes of UTF-8, so hashing cost is bounded.
func TestCheckPasswordBounds(t *testing.T) {
	for name, tc := range map[string]struct {
		password string
		ok       bool
	}{
		"7 bytes":                 {strings.Repeat("x", 7), false},
		"8 bytes":                 {strings.Repeat("x", 8), true},
		"1024 bytes":              {strings.Repeat("x", 1024), true},
		"1025 bytes":              {strings.Repeat("x", 1025), false},
		"4 two-byte characters":   {"éééé", true},
		"3 two-byte characters":   {"ééé", false},
		"513 two-byte characters": {strings.Repeat("é", 513), false},
		"spaces count":            {"        ", true},
		"NUL":                     {"password\x00", false},
		"invalid UTF-8":           {"password\xff", false},
		"empty":                   {"", false},
	} {
		err := CheckPassword(tc.password)
		if (err == nil) != tc.ok {
			t.Errorf("%s: CheckPassword = %v, want ok=%v", name, err, tc.ok)
		}
		if err != nil && !IsKind(err, ErrInvalid) {
			t.Errorf("%s: error kind %v", name, KindOf(err))
		}
	}
}

func TestNewUser(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	u, err := NewUser("id", " Ada@Example.com ", "  Ada  ", "hash", UserRoleAdmin, now)
	if err != nil {
		t.Fatal(err)
	}
	if u.Email() != "ada@example.com" || u.DisplayName() != "Ada" || !u.IsAdmin() || u.CreatedAt().Location() != time.UTC ||
		!u.CreatedAt().Equal(now) || u.PasswordHash() != "hash" || u.ID() != "id" {
		t.Fatalf("user %q %q %v %v", u.Email(), u.DisplayName(), u.Role(), u.CreatedAt())
	}
	for name, f := range map[string]func() error{
		"bad role":   func() error { _, err := NewUser("id", "a@b.c", "A", "h", "root", now); return err },
		"empty name": func() error { _, err := NewUser("id", "a@b.c", " ", "h", UserRoleUser, now); return err },
		"long name": func() error {
			_, err := NewUser("id", "a@b.c", strings.Repeat("n", 101), "h", UserRoleUser, now)
			return err
		},
		"bad email": func() error { _, err := NewUser("id", "nope", "A", "h", UserRoleUser, now); return err },
		"NUL in name": func() error {
			_, err := NewUser("id", "a@b.c", "A\x00", "h", UserRoleUser, now)
			return err
		},
	} {
		if err := f(); !IsKind(err, ErrInvalid) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	if _, err := NewUser("id", "a@b.c", strings.Repeat("é", 100), "h", UserRoleUser, now); err != nil {
		t.Errorf("100 characters of name refused: %v", err)
	}
}
