package redislimits

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/internal/ports"
)

// These tests look at what the adapters leave in Redis: the key layout the
// brief names, and expiries that let idle state vanish with no sweeper.

func pttl(t *testing.T, client redis.UniversalClient, key string) time.Duration {
	t.Helper()
	d, err := client.PTTL(context.Background(), key).Result()
	if err != nil {
		t.Fatalf("PTTL %s: %v", key, err)
	}
	return d
}

func TestRateKeyHoldsTheArrivalTimeUntilTheBucketIsFull(t *testing.T) {
	client := newClient(t, redisOptions(t))
	prefix := newPrefix(t, client)
	rl := NewRateLimiter(client, prefix)
	ctx := context.Background()
	key := prefix + ":rl:user-1"
	now := time.Now()
	r := ports.Rate{PerMinute: 5} // 12 s a token

	if ok, _, err := rl.Allow(ctx, "user-1", r, now); err != nil || !ok {
		t.Fatalf("first Allow = %v, %v", ok, err)
	}
	tat, err := client.Get(ctx, key).Int64()
	if err != nil {
		t.Fatalf("GET %s: %v", key, err)
	}
	if want := now.UnixMicro() + (12 * time.Second).Microseconds(); tat != want {
		t.Fatalf("%s holds %d, want the arrival time %d (now + 12 s in µs)", key, tat, want)
	}
	// The bucket is full 12 s after now: the key lives no longer.
	if d := pttl(t, client, key); d <= 0 || d > 12*time.Second {
		t.Fatalf("%s expires in %v, want within the 12 s to a full bucket", key, d)
	}
	for range 4 {
		if ok, _, err := rl.Allow(ctx, "user-1", r, now); err != nil || !ok {
			t.Fatalf("Allow within the burst = %v, %v", ok, err)
		}
	}
	if d := pttl(t, client, key); d <= 48*time.Second || d > time.Minute {
		t.Fatalf("%s expires in %v after the burst, want within the minute to a full bucket", key, d)
	}
	// A refusal writes nothing.
	if ok, _, err := rl.Allow(ctx, "user-1", r, now); err != nil || ok {
		t.Fatalf("Allow beyond the burst = %v, %v", ok, err)
	}
	if after, _ := client.Get(ctx, key).Int64(); after != tat+(48*time.Second).Microseconds() {
		t.Fatalf("%s holds %d after a refusal, want %d", key, after, tat+(48*time.Second).Microseconds())
	}
}

func TestIdleRateKeyVanishes(t *testing.T) {
	client := newClient(t, redisOptions(t))
	prefix := newPrefix(t, client)
	rl := NewRateLimiter(client, prefix)
	ctx := context.Background()
	// One token of 6000 a minute refills in 10 ms.
	if ok, _, err := rl.Allow(ctx, "idle", ports.Rate{PerMinute: 6000}, time.Now()); err != nil || !ok {
		t.Fatalf("Allow = %v, %v", ok, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := client.Exists(ctx, prefix+":rl:idle").Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the key of a full bucket did not expire")
		}
		time.Sleep(10 * time.Millisecond) // polling Redis for the expiry
	}
}

func TestSlotsKeyFollowsItsLatestSlot(t *testing.T) {
	client := newClient(t, redisOptions(t))
	prefix := newPrefix(t, client)
	gs := NewGenerationSlots(client, prefix)
	ctx := context.Background()
	key := prefix + ":slots:user-1"
	redisNow := func() time.Time {
		now, err := client.Time(ctx).Result()
		if err != nil {
			t.Fatalf("TIME: %v", err)
		}
		return now
	}

	before := redisNow()
	if ok, err := gs.Acquire(ctx, "user-1", "reply-1", 2, 10*time.Minute); err != nil || !ok {
		t.Fatalf("Acquire = %v, %v", ok, err)
	}
	after := redisNow()
	score, err := client.ZScore(ctx, key, "reply-1").Result()
	if err != nil {
		t.Fatalf("ZSCORE: %v", err)
	}
	// The score is the lapse time in ms of Redis's clock.
	lapse := time.UnixMilli(int64(score))
	if lapse.Before(before.Add(10*time.Minute).Truncate(time.Millisecond)) || lapse.After(after.Add(10*time.Minute)) {
		t.Fatalf("reply-1 lapses at %v, want 10 min after Redis's %v..%v", lapse, before, after)
	}
	if d := pttl(t, client, key); d <= 9*time.Minute || d > 10*time.Minute {
		t.Fatalf("%s expires in %v, want with its slot in 10 min", key, d)
	}
	// A longer lease carries the key with it.
	if ok, err := gs.Acquire(ctx, "user-1", "reply-2", 2, 20*time.Minute); err != nil || !ok {
		t.Fatalf("Acquire = %v, %v", ok, err)
	}
	if d := pttl(t, client, key); d <= 19*time.Minute || d > 20*time.Minute {
		t.Fatalf("%s expires in %v, want with its latest slot in 20 min", key, d)
	}
	// Renewing carries it too: a key expiring before its renewed slots
	// would free them all.
	if err := gs.Renew(ctx, []ports.HeldSlot{{UserID: "user-1", ReplyID: "reply-1"}}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if d := pttl(t, client, key); d <= 59*time.Minute || d > time.Hour {
		t.Fatalf("%s expires in %v after a renewal, want in an hour", key, d)
	}
	// The last release leaves nothing behind.
	for _, reply := range []string{"reply-1", "reply-2"} {
		if err := gs.Release(ctx, "user-1", reply); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := client.Exists(ctx, key).Result(); n != 0 {
		t.Fatalf("%s still exists with no slot held", key)
	}
}
