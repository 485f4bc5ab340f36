package portstest

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/chatd/chatd/internal/ports"
)

// RunPresence checks ports.Presence. open returns n processes' views of
// one fresh backend, or nil when the implementation serves only one
// process (then the cases that need two are skipped).
func RunPresence(t *testing.T, open func(t *testing.T, n int) []ports.Presence) {
	for _, c := range presenceCases {
		t.Run(c.name, func(t *testing.T) {
			ps := open(t, c.processes)
			if ps == nil {
				t.Skipf("this implementation serves one process; the case needs %d", c.processes)
			}
			c.run(&presenceFixture{t: t, ps: ps, session: newID(), user: newID()})
		})
	}
}

type presenceFixture struct {
	t             *testing.T
	ps            []ports.Presence
	session, user string
}

// step calls Arrive or Depart on process i and checks what it reports.
func (f *presenceFixture) step(i int, arrive bool, want bool) {
	f.t.Helper()
	call, what := f.ps[i].Depart, "Depart"
	if arrive {
		call, what = f.ps[i].Arrive, "Arrive"
	}
	got, err := call(context.Background(), f.session, f.user)
	if err != nil {
		f.t.Fatalf("%s on process %d: %v", what, i, err)
	}
	if got != want {
		f.t.Fatalf("%s on process %d reported %v, want %v", what, i, got, want)
	}
}

var presenceCases = []struct {
	name      string
	processes int
	run       func(f *presenceFixture)
}{
	{"one process: every arrival is first, every departure last", 1, func(f *presenceFixture) {
		f.step(0, true, true)
		f.step(0, false, true)
		f.step(0, true, true)
		f.step(0, false, true)
	}},
	{"sessions and users are counted apart", 2, func(f *presenceFixture) {
		f.step(0, true, true)
		other := *f
		other.session = newID()
		other.step(1, true, true) // the same user, another session
		other.session, other.user = f.session, newID()
		other.step(1, true, true) // another user, the same session
		f.step(0, false, true)
	}},
	{"two processes: online from the first socket anywhere to the last", 2, func(f *presenceFixture) {
		f.step(0, true, true)
		f.step(1, true, false)
		f.step(0, false, false)
		f.step(0, true, false)
		f.step(1, false, false)
		f.step(0, false, true)
	}},
	{"concurrent arrivals: exactly one is first", 2, func(f *presenceFixture) {
		firsts := make(chan bool, 2)
		errs := make(chan error, 2)
		for i := range 2 {
			go func() {
				first, err := f.ps[i].Arrive(context.Background(), f.session, f.user)
				firsts <- first
				errs <- err
			}()
		}
		n := 0
		for range 2 {
			if err := <-errs; err != nil {
				f.t.Fatal(err)
			}
			if <-firsts {
				n++
			}
		}
		if n != 1 {
			f.t.Fatalf("%d of two concurrent arrivals reported first, want exactly 1", n)
		}
	}},
}

// newID names a session or user no other case uses.
func newID() string { return rand.Text() }
