package fakes

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync"

	"github.com/chatd/chatd/internal/ports"
)

var _ ports.PasswordHasher = (*Hasher)(nil)

// Hasher is a cheap, deterministic PasswordHasher: a hash is "fake$" and the
// SHA-256 of the password. It counts verifications and wasted work, so a test
// can tell that an unknown email cost as much as a wrong password.
type Hasher struct {
	mu       sync.Mutex
	verified int
	wasted   int
	hashErr  error
}

const hashPrefix = "fake$"

// NewHasher returns the hasher.
func NewHasher() *Hasher { return &Hasher{} }

// FailHash makes Hash fail with err (nil to stop).
func (h *Hasher) FailHash(err error) {
	h.mu.Lock()
	h.hashErr = err
	h.mu.Unlock()
}

// Hash hashes password.
func (h *Hasher) Hash(password string) (string, error) {
	h.mu.Lock()
	err := h.hashErr
	h.mu.Unlock()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(password))
	return hashPrefix + hex.EncodeToString(sum[:]), nil
}

// Verify reports whether password matches hash; a hash this hasher could not
// have made is an error, as a malformed PHC string is for the real one.
func (h *Hasher) Verify(hash, password string) (bool, error) {
	h.mu.Lock()
	h.verified++
	h.mu.Unlock()
	if !strings.HasPrefix(hash, hashPrefix) {
		return false, errors.New("fakes: malformed password hash")
	}
	sum := sha256.Sum256([]byte(password))
	return hash == hashPrefix+hex.EncodeToString(sum[:]), nil
}

// Waste stands for one verification's work.
func (h *Hasher) Waste(string) {
	h.mu.Lock()
	h.wasted++
	h.mu.Unlock()
}

// Verified and Wasted count calls of Verify and Waste.
func (h *Hasher) Verified() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.verified
}

func (h *Hasher) Wasted() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.wasted
}
