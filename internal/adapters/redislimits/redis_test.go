package redislimits

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Environment variables that select the Redis the tests use.
const (
	envRedisURL     = "CHAT_TEST_REDIS_URL"
	envRequireRedis = "CHAT_TEST_REQUIRE_REDIS"
	defaultRedisURL = "redis://127.0.0.1:6379/0"
)

const setupTimeout = 10 * time.Second

// redisOptions returns the test Redis's options, or skips the test when it
// does not answer (fails it under CHAT_TEST_REQUIRE_REDIS=1, as in CI, where
// a skip would hide a missing leg). Call it at the top of a test so that a
// skip shows there, not in every subtest.
func redisOptions(t *testing.T) *redis.Options {
	t.Helper()
	url := os.Getenv(envRedisURL)
	if url == "" {
		url = defaultRedisURL
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("%s=%q: %v", envRedisURL, url, err)
	}
	// One try, so that a Redis that is not there skips at once.
	probe := *opts
	probe.MaxRetries, probe.DialerRetries = -1, 1
	client := redis.NewClient(&probe)
	defer func() { _ = client.Close() }()
	ctx, cancel := context.WithTimeout(t.Context(), setupTimeout)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		if os.Getenv(envRequireRedis) == "1" {
			t.Fatalf("Redis at %s does not answer but %s=1: %v", url, envRequireRedis, err)
		}
		t.Skipf("Redis at %s does not answer (%v): skipping the Redis leg", url, err)
	}
	return opts
}

// newClient opens a client, with its own connections, closed when the test
// ends.
func newClient(t *testing.T, opts *redis.Options) *redis.Client {
	t.Helper()
	client := redis.NewClient(opts)
	t.Cleanup(func() {
		if err := client.Close(); err != nil {
			t.Errorf("close redis client: %v", err)
		}
	})
	return client
}

// newPrefix returns a key prefix no other test uses, and deletes its keys
// when the test ends: the Redis is shared, so tests never flush it.
func newPrefix(t *testing.T, client redis.UniversalClient) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	prefix := "chatd-test-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		if err := deleteKeys(ctx, client, prefix+":*"); err != nil {
			t.Errorf("delete the test's keys %s:*: %v", prefix, err)
		}
	})
	return prefix
}

func deleteKeys(ctx context.Context, client redis.UniversalClient, pattern string) error {
	iter := client.Scan(ctx, 0, pattern, 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	return client.Unlink(ctx, keys...).Err()
}
