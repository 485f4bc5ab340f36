package redislimits

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/internal/adapters/redistest"
)

const setupTimeout = 10 * time.Second

// redisOptions returns the test Redis's options, or skips the test
// (redistest.URL). Call it at the top of a test so that a skip shows there,
// not in every subtest.
func redisOptions(t *testing.T) *redis.Options {
	t.Helper()
	opts, err := redis.ParseURL(redistest.URL(t))
	if err != nil {
		t.Fatal(err)
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
	prefix := redistest.NewPrefix()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		if err := redistest.DeleteKeys(ctx, client, prefix+":*"); err != nil {
			t.Errorf("delete the test's keys %s:*: %v", prefix, err)
		}
	})
	return prefix
}
