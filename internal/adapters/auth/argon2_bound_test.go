package auth

import (
	"testing"
	"time"
)

// Derivations wait while every CPU's turn is taken: a burst of sign-ups
// holds at most GOMAXPROCS derivations' memory at once.
func TestArgon2DerivationsWaitForATurn(t *testing.T) {
	h, err := NewArgon2Hasher(Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	for range cap(h.derivations) {
		h.derivations <- struct{}{} // every turn taken
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := h.Hash("a password"); err != nil {
			t.Error(err)
		}
	}()
	select {
	case <-done:
		t.Fatal("a derivation ran while every turn was taken")
	case <-time.After(50 * time.Millisecond):
	}
	<-h.derivations // one turn frees
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting derivation did not run once a turn was free")
	}
}
