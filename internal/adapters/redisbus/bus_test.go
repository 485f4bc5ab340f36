package redisbus

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// The contract suite (contract_test.go) covers the port's semantics; these
// tests cover what only a broker has: messages pub/sub loses, counters that
// vanish, keys that expire, subscriptions of the connection.

const publishLine = "redis.call('PUBLISH', ARGV[4], kind .. id .. ' ' .. ARGV[1])"

// lostPublish is the publish script without its PUBLISH: the event is in
// the stream but pub/sub lost it, as when a connection drops.
var lostPublish = redis.NewScript(strings.Replace(publishLua, publishLine, "", 1))

func publishLost(t *testing.T, b *Bus, e domain.SessionEvent) domain.SessionEvent {
	t.Helper()
	if !strings.Contains(publishLua, publishLine) {
		t.Fatal("the publish script no longer has the PUBLISH line this test removes")
	}
	body, err := encodeEvent(e)
	if err != nil {
		t.Fatal(err)
	}
	channel := b.keys.channel(e.SessionID)
	seq, err := lostPublish.Run(t.Context(), b.client, []string{b.keys.seq(channel), b.keys.stream(channel)},
		body, b.maxLen, b.ttlMillis, channel).Int64()
	if err != nil {
		t.Fatalf("publish without PUBLISH: %v", err)
	}
	e.Seq = seq
	return e
}

func newTestBus(t *testing.T) (*Bus, string) {
	t.Helper()
	url := redisURL(t)
	return openBus(t, Config{URL: url, Prefix: newPrefix(t, url), ReplayEvents: 16}), url
}

func TestEventsPubSubLostAreReadFromTheStream(t *testing.T) {
	checkNoLeaks(t)
	b, _ := newTestBus(t)
	first := mustPublish(t, b, delta("s", 0))
	s, _ := mustSubscribe(t, b, "s", first.Seq, 16)
	lost1 := publishLost(t, b, delta("s", 1))
	lost2 := publishLost(t, b, delta("s", 2))
	live := mustPublish(t, b, delta("s", 3))
	expectEvents(t, s, lost1, lost2, live)
	after := mustPublish(t, b, delta("s", 4))
	expectEvents(t, s, after) // nothing twice
}

func TestALostFirstEventIsReadFromTheStream(t *testing.T) {
	b, _ := newTestBus(t)
	s, res := mustSubscribe(t, b, "fresh", -1, 16)
	// The subscriber starts the counter: the first event is LastSeq+1.
	if res.LastSeq <= 0 || !res.Complete || len(res.Backlog) != 0 {
		t.Fatalf("a session without events: %+v", res)
	}
	lost := publishLost(t, b, delta("fresh", 0)) // the counter's first event
	live := mustPublish(t, b, delta("fresh", 1))
	expectEvents(t, s, lost, live)
}

func TestAGapTheStreamCannotFillEndsSubscribersAsSlow(t *testing.T) {
	checkNoLeaks(t)
	b, _ := newTestBus(t)
	a := mustPublish(t, b, delta("s", 0))
	s, _ := mustSubscribe(t, b, "s", -1, 16)
	seen := mustPublish(t, b, delta("s", 1))
	expectEvents(t, s, seen)
	lost := publishLost(t, b, delta("s", 2))
	stream := b.keys.stream(b.keys.channel("s"))
	if err := b.client.XDel(t.Context(), stream, strconv.FormatInt(lost.Seq, 10)+"-0").Err(); err != nil {
		t.Fatal(err)
	}
	mustPublish(t, b, delta("s", 3))
	expectEnd(t, s, ports.ErrSlowConsumer)

	// The session goes on for whoever comes next.
	again, res := mustSubscribe(t, b, "s", a.Seq, 16)
	if res.Complete {
		t.Fatalf("a replay across the deleted entry is complete: %v", seqs(res.Backlog))
	}
	e := mustPublish(t, b, delta("s", 4))
	expectEvents(t, again, e)
}

// awaitNextMillisecond polls Redis's clock until it passes the millisecond
// in which seq's counter started, so a new counter starts above it.
func awaitNextMillisecond(t *testing.T, client *redis.Client, seq int64) {
	t.Helper()
	eventually(t, "Redis's clock passes the counter's start", func() bool {
		now, err := client.Time(t.Context()).Result()
		return err == nil && now.UnixMilli() > seq/1000
	})
}

func TestACounterThatWentBackEndsSubscribersAsSlow(t *testing.T) {
	checkNoLeaks(t)
	b, _ := newTestBus(t)
	s, _ := mustSubscribe(t, b, "s", -1, 16)
	old := mustPublish(t, b, delta("s", 0))
	expectEvents(t, s, old)
	channel := b.keys.channel("s")
	// The keys expire (or Redis loses its data): whether events went by in
	// between cannot be known any more.
	if err := b.client.Del(t.Context(), b.keys.seq(channel), b.keys.stream(channel)).Err(); err != nil {
		t.Fatal(err)
	}
	awaitNextMillisecond(t, b.client, old.Seq)
	fresh := mustPublish(t, b, delta("s", 1))
	if fresh.Seq <= old.Seq {
		t.Fatalf("a new counter gave %d after %d", fresh.Seq, old.Seq)
	}
	expectEnd(t, s, ports.ErrSlowConsumer)
}

func TestACounterLostUnderLiveSubscribersEndsThemAsSlow(t *testing.T) {
	b, _ := newTestBus(t)
	old, _ := mustSubscribe(t, b, "s", -1, 16)
	e := mustPublish(t, b, delta("s", 0))
	expectEvents(t, old, e)
	channel := b.keys.channel("s")
	if err := b.client.Del(t.Context(), b.keys.seq(channel), b.keys.stream(channel)).Err(); err != nil {
		t.Fatal(err)
	}
	// A counter restarts from the clock: within the same millisecond it
	// could hand out the lost seqs again (the design's known limit).
	awaitNextMillisecond(t, b.client, e.Seq)
	_, res := mustSubscribe(t, b, "s", e.Seq, 16)
	if res.Complete {
		t.Fatalf("resume after %d once the counter is gone: %+v", e.Seq, res)
	}
	// The join started a new counter. The old subscriber missed events
	// nobody has any more: it ends as slow, or (when the join found the new
	// counter above it) its next event shows the jump, which a client sees
	// as a gap and resumes from a snapshot. It never gets seq+1 silently.
	fresh := mustPublish(t, b, delta("s", 1))
	select {
	case got, ok := <-old.Events():
		if ok && got.Seq == e.Seq+1 {
			t.Fatalf("after the counter was lost the old subscriber got seq %d right after %d", got.Seq, e.Seq)
		}
	case <-time.After(patience):
		t.Fatalf("the old subscriber neither ended nor saw the jump within %s", patience)
	}
	if fresh.Seq <= e.Seq {
		t.Fatalf("the new counter gave %d after %d", fresh.Seq, e.Seq)
	}
}

func TestACounterStartsFromRedisClockAndAboveItsStream(t *testing.T) {
	b, _ := newTestBus(t)
	ctx := t.Context()
	before, err := b.client.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	first := mustPublish(t, b, delta("clock", 0)).Seq
	if ms := first / 1000; ms < before.UnixMilli() || ms > before.Add(time.Minute).UnixMilli() || first%1000 != 1 {
		t.Fatalf("first seq %d does not start from Redis's clock (%d ms)", first, before.UnixMilli())
	}

	// A stream that outlived its counter (they expire apart, by a hair)
	// holds seqs the clock may not have reached: the counter starts above.
	channel := b.keys.channel("ahead")
	ahead := (before.UnixMilli() + 3_600_000) * 1000
	if err := b.client.XAdd(ctx, &redis.XAddArgs{Stream: b.keys.stream(channel), ID: strconv.FormatInt(ahead, 10) + "-0",
		Values: []any{"e", "{}"}}).Err(); err != nil {
		t.Fatal(err)
	}
	if got := mustPublish(t, b, delta("ahead", 0)).Seq; got != ahead+1 {
		t.Fatalf("seq %d over a stream at %d", got, ahead)
	}
}

func TestKeysExpireAndCloseKeepsTheCounter(t *testing.T) {
	url := redisURL(t)
	b := openBus(t, Config{URL: url, Prefix: newPrefix(t, url), KeyTTL: time.Hour})
	ctx := t.Context()
	e := mustPublish(t, b, delta("s", 0))
	channel := b.keys.channel("s")
	for _, key := range []string{b.keys.seq(channel), b.keys.stream(channel)} {
		if ttl, err := b.client.PTTL(ctx, key).Result(); err != nil || ttl <= 59*time.Minute || ttl > time.Hour {
			t.Fatalf("%s expires in %v (%v), want about an hour", key, ttl, err)
		}
	}
	if err := b.Close(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	if n, _ := b.client.Exists(ctx, b.keys.stream(channel)).Result(); n != 0 {
		t.Fatal("Close kept the stream")
	}
	if last, err := b.LastSeq(ctx, "s"); err != nil || last != e.Seq {
		t.Fatalf("LastSeq after Close: %d %v, want %d", last, err, e.Seq)
	}
	if res, _ := b.Replay(ctx, "s", e.Seq-1); res.Complete {
		t.Fatal("a closed session's events are still replayed")
	}
	if next := mustPublish(t, b, delta("s", 1)); next.Seq != e.Seq+1 {
		t.Fatalf("seq %d after Close, want %d", next.Seq, e.Seq+1)
	}
}

func TestTheChannelIsSubscribedWhileLocalSubscribersLast(t *testing.T) {
	checkNoLeaks(t)
	b, url := newTestBus(t)
	admin := newClient(t, url)
	channel := b.keys.channel("s")
	subscribed := func() int64 {
		n, err := admin.PubSubNumSub(t.Context(), channel).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n[channel]
	}
	s1, _ := mustSubscribe(t, b, "s", -1, 1)
	s2, _ := mustSubscribe(t, b, "s", -1, 16)
	if n := subscribed(); n != 1 {
		t.Fatalf("%d subscriptions of the channel for two local subscribers", n)
	}
	s2.Close()
	// Unread, s1 holds the first event and overflows on the second: the
	// receive loop ends it, and the channel has no local subscriber left.
	e1 := mustPublish(t, b, delta("s", 0))
	mustPublish(t, b, delta("s", 1))
	eventually(t, "the channel is unsubscribed", func() bool { return subscribed() == 0 })
	expectEnd(t, s1, ports.ErrSlowConsumer, e1) // it was subscribed for the one left

	s3, _ := mustSubscribe(t, b, "s", -1, 16)
	e := mustPublish(t, b, delta("s", 3))
	expectEvents(t, s3, e)
	s3.Close()
	eventually(t, "the channel is unsubscribed again", func() bool { return subscribed() == 0 })
}

func TestSubscribeGivesUpWithItsContext(t *testing.T) {
	checkNoLeaks(t)
	b, _ := newTestBus(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := b.Subscribe(ctx, "s", -1, 4); !errors.Is(err, context.Canceled) {
		t.Fatalf("Subscribe with a cancelled context: %v", err)
	}
	s, _ := mustSubscribe(t, b, "s", -1, 4) // the abandoned attempt left nothing behind
	e := mustPublish(t, b, delta("s", 0))
	expectEvents(t, s, e)
}

func TestShutdownEndsSubscriptionsAndLeavesNoGoroutine(t *testing.T) {
	url := redisURL(t)
	ignore := goleak.IgnoreCurrent()
	ctx := t.Context()
	b, err := open(ctx, Config{URL: url, Prefix: newPrefix(t, url)}, zap.NewNop(), testTuning)
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := b.Subscribe(ctx, "s", -1, 8)
	if err != nil {
		t.Fatal(err)
	}
	e, err := b.Publish(ctx, delta("s", 0))
	if err != nil {
		t.Fatal(err)
	}
	// A slow consumer hands its release to a goroutine of the bus. Unread,
	// its buffer of one overflows on the second event.
	slow, _, err := b.Subscribe(ctx, "other", -1, 1)
	if err != nil {
		t.Fatal(err)
	}
	o1, _ := b.Publish(ctx, delta("other", 0))
	_, _ = b.Publish(ctx, delta("other", 1))
	eventually(t, "the slow consumer is released", func() bool { return b.room("other") == nil })
	expectEnd(t, slow, ports.ErrSlowConsumer, o1)

	if err := b.Shutdown(); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	expectEnd(t, s, nil, e)
	s.Close()
	if err := b.Shutdown(); err != nil {
		t.Fatalf("a second Shutdown: %v", err)
	}
	if _, _, err := b.Subscribe(ctx, "s", -1, 8); !errors.Is(err, ErrClosed) {
		t.Fatalf("Subscribe after Shutdown: %v", err)
	}
	if _, err := b.Publish(ctx, delta("s", 1)); err == nil {
		t.Fatal("Publish after Shutdown succeeded")
	}
	goleak.VerifyNone(t, ignore)
}

func TestNewFailsWithoutRedis(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	ctx, cancel := context.WithTimeout(t.Context(), setupTimeout)
	defer cancel()
	if _, err := New(ctx, Config{URL: "http://127.0.0.1:1"}, nil); err == nil {
		t.Fatal("a URL that is not redis:// was accepted")
	}
	if _, err := New(ctx, Config{URL: "redis://127.0.0.1:" + strconv.Itoa(freePort(t)) + "/0"}, nil); err == nil {
		t.Fatal("New succeeded with nobody listening")
	}
	goleak.VerifyNone(t, ignore)
}

// BenchmarkPublish is the token path: one script run per event. With a
// subscriber, the allocations include the receive loop's (go-redis's reply,
// the frame's decoding, the fan-out).
func BenchmarkPublish(b *testing.B) {
	url := redisURL(b)
	bus := openBus(b, Config{URL: url, Prefix: newPrefix(b, url)})
	ctx := b.Context()
	e := delta("bench", 0)
	publish := func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := bus.Publish(ctx, e); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("alone", publish)
	b.Run("to a local subscriber", func(b *testing.B) {
		s, _, err := bus.Subscribe(ctx, "bench", -1, 1<<16)
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range s.Events() {
			}
		}()
		publish(b)
		b.StopTimer()
		s.Close()
		<-done
	})
}
