package redisbus

import (
	"context"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/ports"
	"github.com/chatd/chatd/internal/ports/portstest"
)

// startPresence starts a process's Presence on b, stopped when the test ends.
func startPresence(t *testing.T, b *Bus, ttl time.Duration) *Presence {
	t.Helper()
	p := newPresence(b, ttl)
	if err := p.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return p
}

// Buses on one prefix are processes of one service.
func TestPresenceContract(t *testing.T) {
	checkNoLeaks(t)
	url := redisURL(t)
	portstest.RunPresence(t, func(t *testing.T, n int) []ports.Presence {
		cfg := Config{URL: url, Prefix: newPrefix(t, url)}
		ps := make([]ports.Presence, n)
		for i := range ps {
			ps[i] = startPresence(t, openBus(t, cfg), processTTL)
		}
		return ps
	})
}

// A process that dies holding a user's socket stops keeping them online
// once its key lapses; one that stops cleanly, at once.
func TestPresenceForgetsGoneProcesses(t *testing.T) {
	checkNoLeaks(t)
	url := redisURL(t)
	cfg := Config{URL: url, Prefix: newPrefix(t, url)}
	const ttl = 300 * time.Millisecond
	survivor := startPresence(t, openBus(t, cfg), ttl)
	ctx := t.Context()
	arrive := func(p *Presence, want bool) {
		t.Helper()
		if first, err := p.Arrive(ctx, "s1", "u1"); err != nil || first != want {
			t.Fatalf("Arrive: first %v, %v; want %v", first, err, want)
		}
	}

	// A crash: the process's renewals stop, its key lapses on its own.
	crashed := newPresence(openBus(t, cfg), ttl)
	if err := crashed.renew(ctx); err != nil {
		t.Fatal(err)
	}
	arrive(crashed, true)
	arrive(survivor, false)
	time.Sleep(2 * ttl)
	if last, err := survivor.Depart(ctx, "s1", "u1"); err != nil || !last {
		t.Fatalf("Depart after the other process's key lapsed: last %v, %v; want true", last, err)
	}

	// A clean stop: its memberships stop counting at once.
	stopped := newPresence(openBus(t, cfg), time.Minute)
	if err := stopped.Start(ctx); err != nil {
		t.Fatal(err)
	}
	arrive(stopped, true)
	if err := stopped.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	arrive(survivor, true)
}
