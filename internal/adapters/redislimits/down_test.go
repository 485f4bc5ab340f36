package redislimits

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/internal/ports"
)

// hangLimit is far beyond a refused connection's few retries: a call still
// running then is hanging.
const hangLimit = 30 * time.Second

// closedPort returns an address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// returnsError runs call in a parallel subtest and fails it unless call
// returns an error before hangLimit.
func returnsError(t *testing.T, name string, call func(t *testing.T) error) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- call(t) }()
		select {
		case err := <-done:
			if err == nil {
				t.Error("no error with Redis down")
			} else {
				t.Logf("with Redis down, after %v: %v", time.Since(start).Round(time.Millisecond), err)
			}
		case <-time.After(hangLimit):
			t.Errorf("still running after %v with Redis down", hangLimit)
		}
	})
}

// With Redis down every call fails with an error, soon, rather than hang
// or answer as if it had been asked: the caller decides what to do.
func TestRedisDownIsAnErrorNotAHang(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: closedPort(t), DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = client.Close() })
	rl := NewRateLimiter(client, "down")
	gs := NewGenerationSlots(client, "down")
	ctx := context.Background() // no deadline: the client's own timeouts must end the calls

	returnsError(t, "Allow", func(t *testing.T) error {
		ok, retry, err := rl.Allow(ctx, "k", ports.Rate{PerMinute: 1}, time.Now())
		if ok || retry != 0 {
			t.Errorf("Allow = %v, %v; want false, 0", ok, retry)
		}
		return err
	})
	returnsError(t, "Acquire", func(t *testing.T) error {
		ok, err := gs.Acquire(ctx, "u", "r", 1, time.Minute)
		if ok {
			t.Error("Acquire took a slot")
		}
		return err
	})
	returnsError(t, "Renew", func(*testing.T) error {
		return gs.Renew(ctx, []ports.HeldSlot{{UserID: "u", ReplyID: "r"}}, time.Minute)
	})
	returnsError(t, "Release", func(*testing.T) error { return gs.Release(ctx, "u", "r") })
	// A caller's deadline ends the client's retries, and still reads as one.
	returnsError(t, "Allow with a deadline", func(t *testing.T) error {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, _, err := rl.Allow(ctx, "k", ports.Rate{PerMinute: 1}, time.Now())
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Allow past its deadline: %v, want context.DeadlineExceeded", err)
		}
		return err
	})
}
