// Package redisbus is the SessionEvents and ReplyControl of chatd running as
// several processes: Redis orders each session's events and keeps its
// replay window in a stream, and pub/sub carries them live to every
// process, which fans them out to its local subscribers.
//
// Pub/sub delivers at most once. Each process tracks, per session, the seq
// it handed out last; a live event further ahead, or a connection that came
// back, is made good from the stream, and when the stream no longer has the
// missing events the session's subscribers end with ports.ErrSlowConsumer
// (they resume from a snapshot): an event is never skipped silently.
package redisbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

var (
	_ ports.SessionEvents = (*Bus)(nil)
	_ ports.ReplyControl  = (*Bus)(nil)
)

// ErrClosed is returned by a Bus after Shutdown.
var ErrClosed = errors.New("redisbus: closed")

// tuning holds the timings tests shorten.
type tuning struct {
	quietPing time.Duration // a pub/sub connection quiet this long is pinged; unanswered this long again, replaced
	opTimeout time.Duration // bounds the bus's own reads and the wait for a channel's confirmation
}

var defaultTuning = tuning{quietPing: 5 * time.Second, opTimeout: 5 * time.Second}

// Bus is safe for concurrent use.
type Bus struct {
	keys   keys
	log    *zap.Logger
	tune   tuning
	client *redis.Client

	// The scripts' constant arguments, boxed once: Publish runs per token.
	maxLen    any // cfg.ReplayEvents
	ttlMillis any // cfg.KeyTTL

	// chanMu orders SUBSCRIBE and UNSUBSCRIBE with the changes of rooms,
	// so the broker ends up subscribed to exactly the rooms' channels; it
	// also guards ps, which the watchdog replaces.
	chanMu sync.Mutex
	ps     *redis.PubSub

	mu     sync.Mutex
	rooms  map[string]*room // sessions with local subscribers, by id
	closed bool
	async  sync.WaitGroup // releases the receive loop hands off

	onCancel atomic.Pointer[func(replyID string)]
	heard    atomic.Int64 // when the receive loop last heard from pub/sub, in ns since started
	waiting  atomic.Bool  // the receive loop waits on pub/sub (rather than handling a message)
	started  time.Time

	ctx       context.Context // cancelled by Shutdown
	cancel    context.CancelFunc
	loopDone  chan struct{}
	watchDone chan struct{}
}

// New connects to Redis, checks it answers and subscribes to the control
// channel, so Close and cancel requests of other processes reach this one
// from the moment New returns.
func New(ctx context.Context, cfg Config, log *zap.Logger) (*Bus, error) {
	return open(ctx, cfg, log, defaultTuning)
}

func open(ctx context.Context, cfg Config, log *zap.Logger, tune tuning) (*Bus, error) {
	cfg = cfg.withDefaults()
	if log == nil {
		log = zap.NewNop()
	}
	opts, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redisbus: parse the Redis URL: %w", err)
	}
	// A command is never retried: a Publish whose reply was lost may have
	// run, and running it again would publish the event twice.
	opts.MaxRetries = -1
	// The callers' deadlines bound their commands, not only the client's
	// own read and write timeouts.
	opts.ContextTimeoutEnabled = true
	client := redis.NewClient(opts)
	b := &Bus{
		keys: newKeys(cfg.Prefix), log: log.Named("redisbus"), tune: tune, client: client,
		maxLen:    strconv.Itoa(cfg.ReplayEvents),
		ttlMillis: strconv.FormatInt(cfg.KeyTTL.Milliseconds(), 10),
		rooms:     map[string]*room{},
		started:   time.Now(),
		loopDone:  make(chan struct{}),
		watchDone: make(chan struct{}),
	}
	if err := b.connect(ctx, opts.Addr); err != nil {
		_ = client.Close()
		return nil, err
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	go b.receive()
	go b.watch()
	return b, nil
}

func (b *Bus) connect(ctx context.Context, addr string) error {
	if err := b.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redisbus: ping Redis at %s: %w", addr, err)
	}
	for _, s := range []*redis.Script{publishScript, replayScript, lastSeqScript, recentScript} {
		if err := s.Load(ctx, b.client).Err(); err != nil {
			return fmt.Errorf("redisbus: load a script into Redis at %s: %w", addr, err)
		}
	}
	ps := b.client.Subscribe(ctx, b.keys.control)
	msg, err := ps.ReceiveTimeout(ctx, b.tune.opTimeout)
	if err == nil {
		if sub, ok := msg.(*redis.Subscription); !ok || sub.Channel != b.keys.control {
			err = fmt.Errorf("unexpected first message %v", msg)
		}
	}
	if err != nil {
		_ = ps.Close()
		return fmt.Errorf("redisbus: subscribe to %s: %w", b.keys.control, err)
	}
	b.ps = ps
	return nil
}

// Shutdown stops the bus's goroutines, ends its local subscriptions (Err
// nil) and closes its connections; calling it again does nothing. (Close is
// ports.SessionPublisher's: it closes one session.)
func (b *Bus) Shutdown() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	rooms := make([]*room, 0, len(b.rooms))
	for _, r := range b.rooms {
		rooms = append(rooms, r)
	}
	b.mu.Unlock()

	b.cancel()
	b.chanMu.Lock()
	ps := b.ps
	b.chanMu.Unlock()
	psErr := ps.Close() // ends the receive loop's wait
	<-b.loopDone
	<-b.watchDone
	b.async.Wait()
	for _, r := range rooms {
		r.mu.Lock()
		r.closed = true
		r.endAllLocked(nil)
		r.mu.Unlock()
	}
	if err := errors.Join(psErr, b.client.Close()); err != nil {
		return fmt.Errorf("redisbus: shut down: %w", err)
	}
	return nil
}

func (b *Bus) stopping() bool { return b.ctx.Err() != nil }

// Publish gives e the session's next seq, keeps it for replay and delivers
// it to the subscribers of every process. An error may hide a Publish that
// reached Redis before its connection failed: the event is then delivered
// although the caller saw the error.
func (b *Bus) Publish(ctx context.Context, e domain.SessionEvent) (domain.SessionEvent, error) {
	body, err := encodeEvent(e)
	if err != nil {
		return e, fmt.Errorf("redisbus: publish: %w", err)
	}
	channel := b.keys.channel(e.SessionID)
	seq, err := publishScript.Run(ctx, b.client, []string{b.keys.seq(channel), b.keys.stream(channel)},
		body, b.maxLen, b.ttlMillis, channel).Int64()
	if err != nil {
		return e, fmt.Errorf("redisbus: publish to session %s: %w", e.SessionID, err)
	}
	e.Seq = seq
	return e, nil
}

// Signal delivers e, without a seq, to the subscribers there are now.
func (b *Bus) Signal(ctx context.Context, e domain.SessionEvent) error {
	e.Seq = 0
	body, err := encodeEvent(e)
	if err != nil {
		return fmt.Errorf("redisbus: signal: %w", err)
	}
	if err := b.client.Publish(ctx, b.keys.channel(e.SessionID), signalFrame(body)).Err(); err != nil {
		return fmt.Errorf("redisbus: signal to session %s: %w", e.SessionID, err)
	}
	return nil
}

// Close ends the session's subscriptions in every process, after the events
// published before it, and deletes its stream. The seq counter stays until
// it expires (KeyTTL): an event published late for the deleted session
// (a reply still streaming) then gets a seq above every one given before,
// as a counter started anew from the clock would not within the same
// millisecond.
func (b *Bus) Close(ctx context.Context, sessionID string) error {
	msg, err := json.Marshal(controlMessage{Close: sessionID})
	if err != nil {
		return fmt.Errorf("redisbus: close session %s: %w", sessionID, err)
	}
	channel := b.keys.channel(sessionID)
	if _, err := b.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, b.keys.stream(channel))
		p.Publish(ctx, b.keys.control, msg)
		return nil
	}); err != nil {
		return fmt.Errorf("redisbus: close session %s: %w", sessionID, err)
	}
	return nil
}

// Replay returns the events after afterSeq when the window still holds all
// of them; Complete is false when it does not, or when afterSeq is ahead of
// the session's last seq.
func (b *Bus) Replay(ctx context.Context, sessionID string, afterSeq int64) (ports.Resume, error) {
	return b.read(ctx, sessionID, afterSeq)
}

// LastSeq is the seq of the session's newest event; a session without
// events gets its counter started, so its first event is LastSeq+1.
func (b *Bus) LastSeq(ctx context.Context, sessionID string) (int64, error) {
	channel := b.keys.channel(sessionID)
	seq, err := lastSeqScript.Run(ctx, b.client, []string{b.keys.seq(channel), b.keys.stream(channel)}, b.ttlMillis).Int64()
	if err != nil {
		return 0, fmt.Errorf("redisbus: last seq of session %s: %w", sessionID, err)
	}
	return seq, nil
}

// Recent returns the stream's events (at most the window, oldest first) and
// the newest seq, read together.
func (b *Bus) Recent(ctx context.Context, sessionID string) ([]domain.SessionEvent, int64, error) {
	channel := b.keys.channel(sessionID)
	reply, err := recentScript.Run(ctx, b.client, []string{b.keys.seq(channel), b.keys.stream(channel)},
		b.ttlMillis, b.maxLen).Slice()
	if err != nil {
		return nil, 0, fmt.Errorf("redisbus: recent events of session %s: %w", sessionID, err)
	}
	last, ok := reply[0].(int64)
	if !ok || len(reply) < 2 {
		return nil, 0, fmt.Errorf("redisbus: recent events of session %s: unexpected reply %v", sessionID, reply)
	}
	entries, err := parseEntries(reply[1])
	if err != nil {
		return nil, 0, fmt.Errorf("redisbus: recent events of session %s: %w", sessionID, err)
	}
	events := make([]domain.SessionEvent, len(entries))
	for i, en := range entries {
		// XREVRANGE gave them newest first.
		if events[len(entries)-1-i], err = decodeEvent(en.body, en.seq); err != nil {
			return nil, 0, fmt.Errorf("redisbus: recent events of session %s: %w", sessionID, err)
		}
	}
	return events, last, nil
}

func (b *Bus) read(ctx context.Context, sessionID string, afterSeq int64) (ports.Resume, error) {
	channel := b.keys.channel(sessionID)
	reply, err := replayScript.Run(ctx, b.client, []string{b.keys.seq(channel), b.keys.stream(channel)},
		afterSeq, b.maxLen, strconv.FormatInt(afterSeq+1, 10)+"-0", b.ttlMillis).Slice()
	if err != nil {
		return ports.Resume{}, fmt.Errorf("redisbus: read session %s: %w", sessionID, err)
	}
	res, err := resumeFrom(afterSeq, reply)
	if err != nil {
		return ports.Resume{}, fmt.Errorf("redisbus: read session %s: %w", sessionID, err)
	}
	return res, nil
}

// resumeFrom makes a Resume of replayScript's reply.
func resumeFrom(afterSeq int64, reply []any) (ports.Resume, error) {
	if len(reply) == 0 {
		return ports.Resume{}, errors.New("empty reply")
	}
	last, ok := reply[0].(int64)
	if !ok {
		return ports.Resume{}, fmt.Errorf("unexpected last seq %v", reply[0])
	}
	res := ports.Resume{LastSeq: last}
	switch {
	case afterSeq < 0 || afterSeq == last:
		res.Complete = true
		return res, nil
	case afterSeq > last || len(reply) < 2:
		return res, nil // from the future, or out of the window
	}
	entries, err := parseEntries(reply[1])
	if err != nil {
		return ports.Resume{}, err
	}
	if !covers(afterSeq, last, entries) {
		return res, nil
	}
	res.Backlog = make([]domain.SessionEvent, len(entries))
	for i, en := range entries {
		if res.Backlog[i], err = decodeEvent(en.body, en.seq); err != nil {
			return ports.Resume{}, err
		}
	}
	res.Complete = true
	return res, nil
}

// covers tells whether entries are every event after afterSeq up to last.
// A reader at 0 has seen nothing of the session: it has everything when
// the entries start at the counter's first event.
func covers(afterSeq, last int64, entries []streamEntry) bool {
	if len(entries) == 0 {
		return false
	}
	next := afterSeq + 1
	if afterSeq == 0 {
		if !entries[0].first {
			return false
		}
		next = entries[0].seq
	}
	for _, en := range entries {
		if en.seq != next {
			return false
		}
		next++
	}
	return next-1 == last
}
