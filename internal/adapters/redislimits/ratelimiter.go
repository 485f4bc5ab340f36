package redislimits

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/internal/ports"
)

var _ ports.RateLimiter = (*RateLimiter)(nil)

// RateLimiter is the in-memory limiter's token bucket (GCRA: one
// "theoretical arrival time" per key) kept in Redis, so every process
// spends from one budget.
//
// The time is the caller's now, not Redis's: the arithmetic is the in-memory
// limiter's, exactly, and tests move the clock. Callers are chatd processes
// whose clocks NTP keeps within milliseconds of each other, small against
// budgets counted in seconds.
//
// Times are microseconds: Lua numbers are doubles, exact to 2^53, which
// nanoseconds since 1970 exceed. So rates above a million a second are not
// limited (the in-memory limiter's bound is a billion); no chatd rate comes
// near either.
type RateLimiter struct {
	client redis.UniversalClient
	keys   keyer
}

// NewRateLimiter returns a limiter keeping its budgets under
// {prefix}:rl:{key}. Each key lives only until its bucket is full again.
func NewRateLimiter(client redis.UniversalClient, prefix string) *RateLimiter {
	return &RateLimiter{client: client, keys: keyer(prefix)}
}

// allowScript spends one event of the bucket in KEYS[1], which holds its
// theoretical arrival time (TAT): the bucket is full once TAT <= now and
// empty while TAT - capacity > now. ARGV: now, the interval that earns one
// event, and the capacity (interval × events a minute), all in
// microseconds. It answers {1, 0} when allowed, {0, wait} when not; a
// refusal writes nothing.
//
// Numbers are written with %.0f: Lua's own conversion would print a 16-digit
// TAT in exponent form, losing its last digits.
var allowScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local capacity = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '') or now
if tat < now then tat = now end
local nxt = tat + interval
local wait = nxt - capacity - now
if wait > 0 then
  return {0, wait}
end
local fullIn = math.ceil((nxt - now) / 1000)
redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX', string.format('%.0f', fullIn))
return {1, 0}
`)

// Allow spends one event of key's budget at rate, as of now. An error
// means Redis did not answer; nothing was spent.
func (l *RateLimiter) Allow(ctx context.Context, key string, rate ports.Rate, now time.Time) (bool, time.Duration, error) {
	if rate.PerMinute <= 0 {
		return true, 0, nil
	}
	interval := time.Minute.Microseconds() / int64(rate.PerMinute)
	if interval == 0 {
		return true, 0, nil // over a million a second: nothing to limit
	}
	capacity := interval * int64(rate.PerMinute)
	reply, err := allowScript.Run(ctx, l.client, []string{l.keys.rateKey(key)}, now.UnixMicro(), interval, capacity).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("rate limit %q in redis: %w", key, err)
	}
	if len(reply) != 2 {
		return false, 0, fmt.Errorf("rate limit %q in redis: %w: %v", key, errUnexpectedReply, reply)
	}
	if reply[0] == 1 {
		return true, 0, nil
	}
	return false, roundUpToSecond(time.Duration(reply[1]) * time.Microsecond), nil
}
