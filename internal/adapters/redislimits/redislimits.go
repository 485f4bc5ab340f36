// Package redislimits keeps chatd's per-user limits in Redis, so that they
// hold for the whole service when it runs as several processes: the rate
// budgets (RateLimiter) and the count of replies generating (GenerationSlots).
//
// Construct each with the client and a key prefix naming the deployment
// (NewRateLimiter, NewGenerationSlots); every key starts with that prefix,
// and each script touches one key, so a Redis Cluster spreads them freely.
package redislimits

import (
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// errUnexpectedReply is returned when a script answers in a shape it never
// does, e.g. another program's script under the same name.
var errUnexpectedReply = errors.New("unexpected reply from Redis")

// keyer builds the keys of one prefix.
type keyer string

// rateKey holds one budget's theoretical arrival time: {prefix}:rl:{key}.
func (k keyer) rateKey(key string) string { return string(k) + ":rl:" + key }

// slotsKey holds one user's slots: {prefix}:slots:{user}.
func (k keyer) slotsKey(userID string) string { return string(k) + ":slots:" + userID }

// roundUpToSecond turns a wait into a Retry-After value: whole seconds,
// never zero, so a client that obeys it finds a token. It is the in-memory
// limiter's rule; adapters do not import each other, hence the copy.
func roundUpToSecond(d time.Duration) time.Duration {
	secs := (d + time.Second - 1) / time.Second
	return max(secs, 1) * time.Second
}

// ceilMillis is d in whole milliseconds, rounded up: a lease is never
// shorter than asked.
func ceilMillis(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// isNoScript reports whether Redis did not know a script's digest (its
// script cache was flushed or the server restarted).
func isNoScript(err error) bool {
	return redis.HasErrorPrefix(err, "NOSCRIPT")
}
