package auth_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/adapters/auth"
)

// cheap keeps the tests fast; production parameters are checked once below.
var cheap = auth.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func newHasher(t *testing.T, p auth.Argon2Params) *auth.Argon2Hasher {
	t.Helper()
	h, err := auth.NewArgon2Hasher(p)
	if err != nil {
		t.Fatalf("NewArgon2Hasher: %v", err)
	}
	return h
}

func TestPasswordHashVerify(t *testing.T) {
	h := newHasher(t, cheap)
	hash, err := h.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("hash = %q", hash)
	}
	if ok, err := h.Verify(hash, "correct horse battery staple"); !ok || err != nil {
		t.Errorf("right password: %v %v", ok, err)
	}
	if ok, err := h.Verify(hash, "correct horse battery stapler"); ok || err != nil {
		t.Errorf("wrong password: %v %v", ok, err)
	}
	again, _ := h.Hash("correct horse battery staple")
	if again == hash {
		t.Error("same password hashed twice gives the same hash: salt is not random")
	}
}

func TestDefaultParamsFormat(t *testing.T) {
	h := newHasher(t, auth.Argon2Params{}) // zero means default
	hash, err := h.Hash("password1")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v=19" || parts[3] != "m=19456,t=2,p=1" ||
		len(parts[4]) != 22 || len(parts[5]) != 43 { // 16 and 32 bytes, unpadded base64
		t.Errorf("hash = %q", hash)
	}
	if ok, err := h.Verify(hash, "password1"); !ok || err != nil {
		t.Errorf("verify: %v %v", ok, err)
	}
}

// A hash keeps verifying after the configured parameters change.
func TestVerifyUsesParamsFromHash(t *testing.T) {
	old, _ := newHasher(t, cheap).Hash("password1")
	stronger := newHasher(t, auth.Argon2Params{Memory: 128, Time: 2, Threads: 2, SaltLen: 16, KeyLen: 32})
	if ok, err := stronger.Verify(old, "password1"); !ok || err != nil {
		t.Errorf("verify old hash: %v %v", ok, err)
	}
}

func TestVerifyMalformedHash(t *testing.T) {
	h := newHasher(t, cheap)
	good, _ := h.Hash("password1")
	p := strings.Split(good, "$")
	salt, key := p[4], p[5]
	cases := map[string]string{
		"empty":          "",
		"bcrypt":         "$2a$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
		"argon2i":        "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"old version":    "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,
		"no version":     "$argon2id$m=64,t=1,p=1$" + salt + "$" + key,
		"params order":   "$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key,
		"param missing":  "$argon2id$v=19$m=64,t=1$" + salt + "$" + key,
		"param extra":    "$argon2id$v=19$m=64,t=1,p=1,k=2$" + salt + "$" + key,
		"not a number":   "$argon2id$v=19$m=x,t=1,p=1$" + salt + "$" + key,
		"negative":       "$argon2id$v=19$m=-64,t=1,p=1$" + salt + "$" + key,
		"leading zero":   "$argon2id$v=19$m=064,t=1,p=1$" + salt + "$" + key,
		"t zero":         "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key,
		"p zero":         "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key,
		"p too big":      "$argon2id$v=19$m=64,t=1,p=256$" + salt + "$" + key,
		"m too small":    "$argon2id$v=19$m=4,t=1,p=1$" + salt + "$" + key,
		"m huge":         "$argon2id$v=19$m=4194304,t=1,p=1$" + salt + "$" + key,
		"t huge":         "$argon2id$v=19$m=64,t=100000,p=1$" + salt + "$" + key,
		"padded salt":    "$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + key,
		"bad salt":       "$argon2id$v=19$m=64,t=1,p=1$!!!!$" + key,
		"short salt":     "$argon2id$v=19$m=64,t=1,p=1$AAAA$" + key,
		"bad key":        "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$***",
		"short key":      "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$AAAA",
		"trailing field": good + "$x",
		"no leading $":   strings.TrimPrefix(good, "$"),
	}
	for name, hash := range cases {
		t.Run(name, func(t *testing.T) {
			ok, err := h.Verify(hash, "password1")
			if ok || err == nil || !errors.Is(err, auth.ErrMalformedHash) {
				t.Errorf("Verify(%q) = %v, %v; want false and ErrMalformedHash", hash, ok, err)
			}
		})
	}
}

func TestNewArgon2HasherRefusesBadParams(t *testing.T) {
	for _, p := range []auth.Argon2Params{
		{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32},
		{Memory: 4, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8},
	} {
		if _, err := auth.NewArgon2Hasher(p); err == nil {
			t.Errorf("params %+v accepted", p)
		}
	}
}

func TestWasteDoesNotPanic(t *testing.T) {
	newHasher(t, cheap).Waste("anything")
}
