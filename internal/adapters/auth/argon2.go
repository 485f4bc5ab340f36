package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"runtime"

	"golang.org/x/crypto/argon2"

	"github.com/chatd/chatd/internal/ports"
)

// Argon2Params tunes argon2id. Production uses DefaultArgon2Params; tests
// pass cheaper ones.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultArgon2Params is OWASP's argon2id baseline (m=19 MiB, t=2, p=1).
var DefaultArgon2Params = Argon2Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

func (p Argon2Params) validate() error {
	if p.Time < 1 || p.Threads < 1 || p.Memory < 8*uint32(p.Threads) || p.SaltLen < 8 || p.KeyLen < 16 {
		return fmt.Errorf("argon2 params %+v: need t>=1, p>=1, m>=8*p KiB, salt>=8 bytes, key>=16 bytes", p)
	}
	return nil
}

var _ ports.PasswordHasher = (*Argon2Hasher)(nil)

// Argon2Hasher hashes passwords with argon2id into PHC strings.
type Argon2Hasher struct {
	params Argon2Params
	// dummy is a well-formed hash no password matches; Waste verifies
	// against it so an unknown email costs the same as a wrong password.
	dummy string
	// derivations bounds the derivations running at once to the CPUs: each
	// holds Memory KiB (19 MiB by default), so a burst of 2000 sign-ups
	// would otherwise ask for 38 GB at once; more at a time would not finish
	// sooner anyway. The others wait their turn.
	derivations chan struct{}
}

// NewArgon2Hasher builds a hasher; zero params mean DefaultArgon2Params.
func NewArgon2Hasher(params Argon2Params) (*Argon2Hasher, error) {
	if params == (Argon2Params{}) {
		params = DefaultArgon2Params
	}
	if err := params.validate(); err != nil {
		return nil, err
	}
	// The dummy's key is all zeros: argon2 output is never all zeros in
	// practice, and it only has to cost one derivation, not match.
	dummy := phcHash{
		params: params,
		salt:   make([]byte, params.SaltLen),
		key:    make([]byte, params.KeyLen),
	}
	return &Argon2Hasher{params: params, dummy: dummy.String(),
		derivations: make(chan struct{}, runtime.GOMAXPROCS(0))}, nil
}

// Hash returns password's PHC string with a fresh random salt.
func (h *Argon2Hasher) Hash(password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	p := h.params
	key := h.derive([]byte(password), salt, p, p.KeyLen)
	return phcHash{params: p, salt: salt, key: key}.String(), nil
}

// Verify reports whether password matches hash, using the parameters stored
// in hash so that older hashes keep working after the defaults change. A
// malformed hash is an error, not a mismatch: it means storage is corrupt.
func (h *Argon2Hasher) Verify(hash, password string) (bool, error) {
	parsed, err := parsePHC(hash)
	if err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}
	p := parsed.params
	key := h.derive([]byte(password), parsed.salt, p, uint32(len(parsed.key)))
	return subtle.ConstantTimeCompare(key, parsed.key) == 1, nil
}

// derive runs one argon2id derivation when a CPU's turn is free.
func (h *Argon2Hasher) derive(password, salt []byte, p Argon2Params, keyLen uint32) []byte {
	h.derivations <- struct{}{}
	defer func() { <-h.derivations }()
	return argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, keyLen)
}

// Waste spends one verification's time and discards the result.
func (h *Argon2Hasher) Waste(password string) {
	_, _ = h.Verify(h.dummy, password)
}
