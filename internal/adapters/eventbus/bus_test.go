package eventbus

import (
	"context"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
	"github.com/chatd/chatd/internal/ports/portstest"
)

// The contract suite covers ordering, replay, signals, Close, slow consumers
// and cancel requests; the tests below cover what only this bus has: the
// replay age, eviction and the clock-based first seq.

func TestSessionEventsContract(t *testing.T) {
	portstest.RunSessionEvents(t, func(*testing.T) (ports.SessionEvents, ports.ReplyControl) {
		return New(Config{ReplayEvents: portstest.ReplayWindow}, time.Now), &Control{}
	})
}

type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func delta(session string, i int) domain.SessionEvent {
	return domain.SessionEvent{Type: domain.EventMessageDelta, SessionID: session,
		Delta: &domain.MessageDelta{MessageID: "m", Delta: "x", Index: i}}
}

func newBus(cfg Config) (*Bus, *fakeClock) {
	clock := &fakeClock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	return New(cfg, clock.Now), clock
}

func mustPublish(t *testing.T, b *Bus, e domain.SessionEvent) domain.SessionEvent {
	t.Helper()
	got, err := b.Publish(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestEventsOlderThanTheReplayAgeAreNotReplayed(t *testing.T) {
	ctx := context.Background()
	b, clock := newBus(Config{ReplayEvents: 100, ReplayAge: time.Minute})
	first := mustPublish(t, b, delta("s", 0)).Seq
	clock.now = clock.now.Add(30 * time.Second)
	second := mustPublish(t, b, delta("s", 1)).Seq
	if res, _ := b.Replay(ctx, "s", first-1); !res.Complete || len(res.Backlog) != 2 {
		t.Fatalf("within the age: %+v", res)
	}
	clock.now = clock.now.Add(45 * time.Second) // the first is 75 s old, the second 45 s
	if res, _ := b.Replay(ctx, "s", first-1); res.Complete {
		t.Fatal("an event older than the replay age was reported complete")
	}
	if res, _ := b.Replay(ctx, "s", first); !res.Complete || len(res.Backlog) != 1 || res.Backlog[0].Seq != second {
		t.Fatalf("after the first: %+v", res)
	}
}

func TestEvictForgetsIdleSessionsOnly(t *testing.T) {
	ctx := context.Background()
	b, clock := newBus(Config{IdleEvict: time.Minute})
	mustPublish(t, b, delta("idle", 0))
	live, _, err := b.Subscribe(ctx, "watched", -1, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	clock.now = clock.now.Add(2 * time.Minute)
	if n := b.Evict(); n != 1 || b.Sessions() != 1 {
		t.Fatalf("evicted %d, %d sessions left; want the idle one gone and the watched one kept", n, b.Sessions())
	}
	if err := b.Close(ctx, "watched"); err != nil {
		t.Fatal(err)
	}
	if b.Sessions() != 0 {
		t.Fatal("Close kept the session")
	}
}

func TestSeqsKeepIncreasingAcrossRestarts(t *testing.T) {
	old, clock := newBus(DefaultConfig)
	var last int64
	for i := range 100 {
		last = mustPublish(t, old, delta("s", i)).Seq
	}
	clock.now = clock.now.Add(time.Second)
	restarted := New(DefaultConfig, clock.Now)
	if first := mustPublish(t, restarted, delta("s", 0)).Seq; first <= last {
		t.Fatalf("a new process gave seq %d after the old one reached %d", first, last)
	}
}

func BenchmarkPublishToOneSubscriber(b *testing.B) {
	ctx := context.Background()
	bus, _ := newBus(DefaultConfig)
	sub, _, _ := bus.Subscribe(ctx, "s", -1, 1024)
	defer sub.Close()
	done := make(chan struct{})
	go func() {
		for range sub.Events() {
		}
		close(done)
	}()
	e := delta("s", 0)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = bus.Publish(ctx, e)
	}
	sub.Close()
	<-done
}
