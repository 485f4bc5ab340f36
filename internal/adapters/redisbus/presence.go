package redisbus

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/ports"
)

var _ ports.Presence = (*Presence)(nil)

// processTTL is how long a process counts as alive after it last renewed
// its key: the sockets of a process that died stop keeping their users
// online this long after, at most.
const processTTL = 15 * time.Second

// presenceTTL is how long a session's presence set outlives its last
// arrival: a bound on what a forgotten set costs, not a rule of presence.
const presenceTTL = 24 * time.Hour

// Presence is ports.Presence on the bus's Redis. Each session and user has
// a set of the processes with a socket of theirs ({prefix}:presence:
// {session}:{user}); each process has a key ({prefix}:process:{id}) it
// renews while it lives. A set member whose process key is gone is a
// process that died, and is dropped the next time the set is read, so the
// arrival or departure that comes next sees only the living.
type Presence struct {
	client   *redis.Client
	log      *zap.Logger
	sets     string // what every presence set's key starts with
	procs    string // what every process key starts with
	id       string // this process
	ttl      time.Duration
	setTTL   any // presenceTTL, in milliseconds
	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

// NewPresence builds this process's Presence on b's connection; Start
// makes the process known as alive, Stop as gone.
func NewPresence(b *Bus) *Presence {
	return newPresence(b, processTTL)
}

func newPresence(b *Bus, ttl time.Duration) *Presence {
	return &Presence{
		client: b.client, log: b.log.Named("presence"),
		sets: b.keys.presence, procs: b.keys.processes, id: rand.Text(),
		ttl:    ttl,
		setTTL: strconv.FormatInt(presenceTTL.Milliseconds(), 10),
		stop:   make(chan struct{}), done: make(chan struct{}),
	}
}

// Start marks the process alive and keeps it so, renewing its key three
// times a term, until Stop.
func (p *Presence) Start(ctx context.Context) error {
	if err := p.renew(ctx); err != nil {
		return err
	}
	go p.keepAlive()
	return nil
}

func (p *Presence) keepAlive() {
	defer close(p.done)
	tick := time.NewTicker(p.ttl / 3)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), p.ttl/3)
			if err := p.renew(ctx); err != nil {
				p.log.Warn("presence: this process's key not renewed", zap.Error(err))
			}
			cancel()
		case <-p.stop:
			return
		}
	}
}

func (p *Presence) renew(ctx context.Context) error {
	if err := p.client.Set(ctx, p.procs+p.id, "1", p.ttl).Err(); err != nil {
		return fmt.Errorf("redisbus: presence: renew this process: %w", err)
	}
	return nil
}

// Stop ends the renewals and deletes the process's key: its remaining set
// memberships stop counting at once.
func (p *Presence) Stop(ctx context.Context) error {
	p.stopOnce.Do(func() { close(p.stop) })
	select {
	case <-p.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := p.client.Del(ctx, p.procs+p.id).Err(); err != nil {
		return fmt.Errorf("redisbus: presence: forget this process: %w", err)
	}
	return nil
}

// Arrive adds the process to the user's set; first when it is the only
// living member.
func (p *Presence) Arrive(ctx context.Context, sessionID, userID string) (bool, error) {
	living, err := arriveScript.Run(ctx, p.client, []string{p.set(sessionID, userID)}, p.id, p.procs, p.setTTL).Int()
	if err != nil {
		return false, fmt.Errorf("redisbus: presence of %s in session %s: %w", userID, sessionID, err)
	}
	return living == 1, nil
}

// Depart removes the process from the user's set; last when no living
// member remains.
func (p *Presence) Depart(ctx context.Context, sessionID, userID string) (bool, error) {
	living, err := departScript.Run(ctx, p.client, []string{p.set(sessionID, userID)}, p.id, p.procs).Int()
	if err != nil {
		return false, fmt.Errorf("redisbus: presence of %s in session %s: %w", userID, sessionID, err)
	}
	return living == 0, nil
}

func (p *Presence) set(sessionID, userID string) string {
	return p.sets + "{" + sessionID + "}:" + userID
}

// livingLua counts the set's (KEYS[1]) members whose process key
// (ARGV[2] .. member) exists, dropping the others; the caller (ARGV[1])
// counts as living. The process keys are not in KEYS: presence needs a
// single Redis (or all keys in one slot), as the rest of the bus does.
const livingLua = `
local function living()
  local n = 0
  for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
    if member == ARGV[1] or redis.call('EXISTS', ARGV[2] .. member) == 1 then
      n = n + 1
    else
      redis.call('SREM', KEYS[1], member)
    end
  end
  return n
end
`

// arriveScript: ARGV[3] is the set's TTL in milliseconds.
var arriveScript = redis.NewScript(livingLua + `
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return living()
`)

var departScript = redis.NewScript(livingLua + `
redis.call('SREM', KEYS[1], ARGV[1])
local n = living()
if n == 0 then redis.call('DEL', KEYS[1]) end
return n
`)
