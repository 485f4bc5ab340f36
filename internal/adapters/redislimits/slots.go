package redislimits

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/internal/ports"
)

var _ ports.GenerationSlots = (*GenerationSlots)(nil)

// GenerationSlots keeps one sorted set per user, {prefix}:slots:{user}:
// member a reply id, score the time its slot lapses in milliseconds of
// Redis's clock. Redis's clock, not the callers': a lease taken by one
// process and renewed by another must be measured on one clock, and
// processes' clocks differ.
//
// Each set expires with its last slot, so the slots of processes that died
// vanish with no sweeper.
type GenerationSlots struct {
	client redis.UniversalClient
	keys   keyer
}

// NewGenerationSlots returns slots kept under {prefix}:slots:{user}.
func NewGenerationSlots(client redis.UniversalClient, prefix string) *GenerationSlots {
	return &GenerationSlots{client: client, keys: keyer(prefix)}
}

// slotsPrelude reads Redis's clock into now (ms) and drops the slots of
// KEYS[1] that lapsed; setExpiry makes the key live as long as its latest
// slot. Numbers are written with %.0f: Lua's own conversion would print a
// 13-digit time in exponent form.
const slotsPrelude = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local function setExpiry()
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  if #last == 2 then
    redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', tonumber(last[2])))
  end
end
`

// acquireScript takes a slot of KEYS[1] for ARGV[1] unless ARGV[2] slots
// (<= 0: unlimited) are held; a reply holding one keeps it. Either way the
// slot then lapses ARGV[3] ms from now. It answers 1 or 0.
var acquireScript = redis.NewScript(slotsPrelude + `
local reply, limit, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if not redis.call('ZSCORE', KEYS[1], reply) and limit > 0 and redis.call('ZCARD', KEYS[1]) >= limit then
  return 0
end
redis.call('ZADD', KEYS[1], string.format('%.0f', now + ttl), reply)
setExpiry()
return 1
`)

// renewScript moves the slots of KEYS[1] held by ARGV[2..] to lapse ARGV[1]
// ms from now. ZADD XX leaves alone a reply that released its slot, or
// whose slot lapsed (dropped above): renewing does not take a slot back
// that another reply may have taken since.
var renewScript = redis.NewScript(slotsPrelude + `
local expiry = string.format('%.0f', now + tonumber(ARGV[1]))
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', expiry, ARGV[i])
end
setExpiry()
return 1
`)

// Acquire takes one of userID's slots for replyID, unless limit are held
// already; limit <= 0 is unlimited. The slot lapses ttl from now unless
// renewed; acquiring again renews it.
func (s *GenerationSlots) Acquire(ctx context.Context, userID, replyID string, limit int, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("acquire generation slot of %q: ttl %v is not positive", userID, ttl)
	}
	got, err := acquireScript.Run(ctx, s.client, []string{s.keys.slotsKey(userID)}, replyID, limit, ceilMillis(ttl)).Int64()
	if err != nil {
		return false, fmt.Errorf("acquire generation slot of %q in redis: %w", userID, err)
	}
	return got == 1, nil
}

// Renew keeps the held slots for ttl from now, in one round trip: one
// script per user, pipelined. A slot that lapsed or was released stays free.
func (s *GenerationSlots) Renew(ctx context.Context, held []ports.HeldSlot, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("renew generation slots: ttl %v is not positive", ttl)
	}
	if len(held) == 0 {
		return nil
	}
	byUser := make(map[string][]any)
	for _, h := range held {
		byUser[h.UserID] = append(byUser[h.UserID], h.ReplyID)
	}
	ttlMillis := ceilMillis(ttl)
	renewAll := func(run func(redis.Pipeliner, string, []any) *redis.Cmd) (noScript bool, err error) {
		pipe := s.client.Pipeline()
		cmds := make([]*redis.Cmd, 0, len(byUser))
		for user, replies := range byUser {
			cmds = append(cmds, run(pipe, s.keys.slotsKey(user), append([]any{ttlMillis}, replies...)))
		}
		_, err = pipe.Exec(ctx)
		return slices.ContainsFunc(cmds, func(c *redis.Cmd) bool { return isNoScript(c.Err()) }), err
	}
	// EVALSHA cannot fall back to EVAL inside a pipeline, so when a server
	// lost the script (restarted, flushed) the whole renewal, which is
	// idempotent, is sent again as EVAL.
	noScript, err := renewAll(func(p redis.Pipeliner, key string, args []any) *redis.Cmd {
		return renewScript.EvalSha(ctx, p, []string{key}, args...)
	})
	if noScript {
		_, err = renewAll(func(p redis.Pipeliner, key string, args []any) *redis.Cmd {
			return renewScript.Eval(ctx, p, []string{key}, args...)
		})
	}
	if err != nil {
		return fmt.Errorf("renew %d generation slots in redis: %w", len(held), err)
	}
	return nil
}

// Release gives replyID's slot back; releasing a free slot does nothing.
func (s *GenerationSlots) Release(ctx context.Context, userID, replyID string) error {
	if err := s.client.ZRem(ctx, s.keys.slotsKey(userID), replyID).Err(); err != nil {
		return fmt.Errorf("release generation slot of %q in redis: %w", userID, err)
	}
	return nil
}
