package redisbus

import "github.com/redis/go-redis/v9"

// publishScript gives an event its seq, keeps it in the session's stream
// and publishes it, in one step: Redis runs a script alone, so seq order,
// stream order and publish order are one order, whichever process
// publishes.
//
// KEYS[1] the session's seq counter, KEYS[2] its stream.
// ARGV[1] the encoded event, ARGV[2] the stream's approximate MAXLEN,
// ARGV[3] the keys' TTL in milliseconds, ARGV[4] the session's channel.
// It returns the seq.
//
// A missing counter starts from Redis's clock in milliseconds x 1000, as
// the in-process bus does, so a session whose keys expired (or a broker that
// lost its data) never hands out a seq a client may still hold; and never
// below the stream's newest entry, which XADD requires. That first event is
// marked (field f, frame kind f) so a subscriber that saw the counter
// missing knows nothing came before it. Lua numbers are doubles: exact for
// seqs below 2^53, which the clock reaches in the 2250s; string.format('%d')
// writes them without an exponent.
var publishScript = redis.NewScript(publishLua)

// startCounterLua starts a missing counter (KEYS[1]) as described above,
// with the keys' TTL ttl; it returns whether it had to.
const startCounterLua = `
local function start_counter(ttl)
  if redis.call('EXISTS', KEYS[1]) == 1 then return false end
  local now = redis.call('TIME')
  local start = tonumber(now[1]) * 1000000 + math.floor(tonumber(now[2]) / 1000) * 1000
  local newest = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)[1]
  if newest then
    local top = tonumber(string.match(newest[1], '^(%d+)'))
    if top >= start then start = top end
  end
  redis.call('SET', KEYS[1], string.format('%d', start), 'PX', ttl)
  return true
end
`

const publishLua = startCounterLua + `
local kind = 'e'
if start_counter(ARGV[3]) then kind = 'f' end
local seq = redis.call('INCR', KEYS[1])
local id = string.format('%d', seq)
if kind == 'f' then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], id .. '-0', 'e', ARGV[1], 'f', '1')
else
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], id .. '-0', 'e', ARGV[1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PUBLISH', ARGV[4], kind .. id .. ' ' .. ARGV[1])
return seq
`

// replayScript reads a session's last seq and, when a reader after
// ARGV[1] may still be served, the stream from there, atomically: no
// Publish runs between the two reads.
//
// KEYS[1] the session's seq counter, KEYS[2] its stream.
// ARGV[1] the seq the reader has (negative: none wanted), ARGV[2] the
// window in events, ARGV[3] the first stream id wanted.
// ARGV[4] the keys' TTL in milliseconds.
// It returns {last} when nothing is to be read, else {last, entries}.
// A reader at 0 has seen nothing: it is read from the stream's start
// whatever the counter says (see covers).
//
// A reader starts a missing counter, as a publisher would: the seq it is
// told (a snapshot's last_seq) is then the one just before the session's
// next event, so its clients see seq grow by exactly one from there.
var replayScript = redis.NewScript(startCounterLua + `
start_counter(ARGV[4])
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local after = tonumber(ARGV[1])
if after < 0 or after >= last then return {last} end
if after > 0 and last - after > tonumber(ARGV[2]) then return {last} end
return {last, redis.call('XRANGE', KEYS[2], ARGV[3], '+', 'COUNT', ARGV[2])}
`)

// lastSeqScript returns a session's last seq, starting a missing counter
// as replayScript does. KEYS as publishScript's; ARGV[1] the keys' TTL.
var lastSeqScript = redis.NewScript(startCounterLua + `
start_counter(ARGV[1])
return tonumber(redis.call('GET', KEYS[1]))
`)

// recentScript returns a session's last seq and its whole stream, read
// together, starting a missing counter as replayScript does. KEYS as
// publishScript's; ARGV[1] the keys' TTL, ARGV[2] the window in events.
var recentScript = redis.NewScript(startCounterLua + `
start_counter(ARGV[1])
local last = tonumber(redis.call('GET', KEYS[1]))
return {last, redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', ARGV[2])}
`)
