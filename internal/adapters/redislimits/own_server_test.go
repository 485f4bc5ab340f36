package redislimits

import (
	"context"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/internal/adapters/redistest"
	"github.com/chatd/chatd/internal/ports"
)

const redisServerPath = "/usr/bin/redis-server"

// ownRedis starts a redis-server of the test's own on a spare port, for
// tests that do to a server what must not be done to the shared one. It is
// stopped when the test ends.
func ownRedis(t *testing.T) *redis.Client {
	t.Helper()
	if _, err := os.Stat(redisServerPath); err != nil {
		if os.Getenv(redistest.EnvRequireRedis) == "1" {
			t.Fatalf("%s=1 but no %s: %v", redistest.EnvRequireRedis, redisServerPath, err)
		}
		t.Skipf("no %s (%v): skipping", redisServerPath, err)
	}
	addr := closedPort(t)
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, redisServerPath, "--port", port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait() // killed by the cancel: its exit status says so
	})
	client := newClient(t, &redis.Options{Addr: addr})
	deadline := time.Now().Add(setupTimeout)
	for {
		err := client.Ping(context.Background()).Err()
		if err == nil {
			return client
		}
		if time.Now().After(deadline) {
			t.Fatalf("own redis-server on %s did not answer: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond) // polling the server as it starts
	}
}

// A server that lost its scripts (restarted, SCRIPT FLUSH) gets them again:
// EVALSHA's NOSCRIPT falls back to EVAL, also inside Renew's pipeline.
func TestScriptsSurviveALostScriptCache(t *testing.T) {
	client := ownRedis(t)
	rl := NewRateLimiter(client, "p")
	gs := NewGenerationSlots(client, "p")
	ctx := context.Background()
	held := []ports.HeldSlot{{UserID: "u", ReplyID: "r1"}}
	r := ports.Rate{PerMinute: 2}
	now := time.Now()

	flush := func() {
		t.Helper()
		if err := client.ScriptFlush(ctx).Err(); err != nil {
			t.Fatalf("SCRIPT FLUSH: %v", err)
		}
	}
	flush()
	if ok, _, err := rl.Allow(ctx, "k", r, now); err != nil || !ok {
		t.Fatalf("Allow after a flush = %v, %v", ok, err)
	}
	if ok, err := gs.Acquire(ctx, "u", "r1", 1, time.Second); err != nil || !ok {
		t.Fatalf("Acquire after a flush = %v, %v", ok, err)
	}
	flush()
	if err := gs.Renew(ctx, held, time.Hour); err != nil {
		t.Fatalf("Renew after a flush: %v", err)
	}
	if d, _ := client.PTTL(ctx, "p:slots:u").Result(); d <= time.Second {
		t.Fatalf("the renewal after a flush did not take: the key expires in %v", d)
	}
	flush()
	if ok, _, err := rl.Allow(ctx, "k", r, now); err != nil || !ok {
		t.Fatalf("second Allow after a flush = %v, %v", ok, err)
	}
	if ok, _, err := rl.Allow(ctx, "k", r, now); err != nil || ok {
		t.Fatalf("third Allow of 2 a minute = %v, %v; want refused", ok, err)
	}
	if ok, err := gs.Acquire(ctx, "u", "r2", 1, time.Minute); err != nil || ok {
		t.Fatalf("Acquire past max after a flush = %v, %v; want refused", ok, err)
	}
}
