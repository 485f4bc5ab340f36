package auth

import "testing"

// Waste only equalizes timing if its dummy parses and goes through a full
// derivation; a dummy that failed to parse would return at once.
func TestWasteDummyIsWellFormed(t *testing.T) {
	for _, p := range []Argon2Params{{}, {Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}} {
		h, err := NewArgon2Hasher(p)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := parsePHC(h.dummy)
		if err != nil {
			t.Fatalf("dummy %q: %v", h.dummy, err)
		}
		if parsed.params != h.params {
			t.Errorf("dummy params %+v, hasher params %+v", parsed.params, h.params)
		}
		if ok, err := h.Verify(h.dummy, ""); ok || err != nil {
			t.Errorf("Verify(dummy) = %v, %v; want false, nil", ok, err)
		}
	}
}
