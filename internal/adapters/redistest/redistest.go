// Package redistest gives the tests of the Redis adapters their Redis: the
// shared server named by CHAT_TEST_REDIS_URL, skipped when it does not
// answer (a failure under CHAT_TEST_REQUIRE_REDIS=1, as in CI), and a key
// prefix per test whose keys are deleted when it ends, since tests never
// flush a shared server.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Environment variables that select the Redis the tests use.
const (
	EnvRedisURL     = "CHAT_TEST_REDIS_URL"
	EnvRequireRedis = "CHAT_TEST_REQUIRE_REDIS"
	defaultRedisURL = "redis://127.0.0.1:6379/0"
)

const setupTimeout = 10 * time.Second

// URL returns the test Redis's URL, or skips the test when it does not
// answer. Call it at the top of a test, so a skip shows there.
func URL(t testing.TB) string {
	t.Helper()
	url, err := probe()
	if err != nil {
		if os.Getenv(EnvRequireRedis) == "1" {
			t.Fatalf("Redis at %s does not answer but %s=1: %v", url, EnvRequireRedis, err)
		}
		t.Skipf("Redis at %s does not answer (%v): skipping the Redis leg", url, err)
	}
	return url
}

// probe pings the test Redis once per test binary, with one try, so that
// a Redis that is not there skips at once.
var probe = sync.OnceValues(func() (string, error) {
	url := os.Getenv(EnvRedisURL)
	if url == "" {
		url = defaultRedisURL
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		return url, fmt.Errorf("%s=%q: %w", EnvRedisURL, url, err)
	}
	opts.MaxRetries, opts.DialerRetries = -1, 1
	client := redis.NewClient(opts)
	defer func() { _ = client.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	return url, client.Ping(ctx).Err()
})

// Prefix returns a key prefix no other test uses; when the test ends, the
// keys under it on the Redis at url are deleted (a private server that was
// stopped has none: that failure is only logged).
func Prefix(t testing.TB, url string) string {
	t.Helper()
	prefix := NewPrefix()
	t.Cleanup(func() {
		opts, err := redis.ParseURL(url)
		if err != nil {
			return
		}
		client := redis.NewClient(opts)
		defer func() { _ = client.Close() }()
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		if err := DeleteKeys(ctx, client, prefix+":*"); err != nil {
			t.Logf("delete the test's keys %s:*: %v", prefix, err)
		}
	})
	return prefix
}

// NewPrefix returns a key prefix no other test uses; deleting its keys is
// the caller's (Prefix does it).
func NewPrefix() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "chatd-test-" + hex.EncodeToString(b)
}

// DeleteKeys unlinks every key matching pattern.
func DeleteKeys(ctx context.Context, client redis.UniversalClient, pattern string) error {
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
