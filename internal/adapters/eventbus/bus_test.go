package eventbus

import (
	"errors"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

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

func TestSeqIncreasesByOneAndSubscribersGetEventsInOrder(t *testing.T) {
	b, _ := newBus(DefaultConfig)
	sub, res := b.Subscribe("s1", -1, 16)
	defer sub.Close()
	for i := range 10 {
		b.Publish(delta("s1", i))
	}
	prev := res.LastSeq
	for i := range 10 {
		e := <-sub.Events()
		if e.Seq != prev+1 || e.Delta.Index != i {
			t.Fatalf("event %d: seq %d after %d, index %d", i, e.Seq, prev, e.Delta.Index)
		}
		prev = e.Seq
	}
	if b.LastSeq("s1") != prev {
		t.Fatalf("LastSeq %d, want %d", b.LastSeq("s1"), prev)
	}
}

func TestSessionsAreIsolated(t *testing.T) {
	b, _ := newBus(DefaultConfig)
	sub, _ := b.Subscribe("a", -1, 16)
	defer sub.Close()
	b.Publish(delta("b", 0))
	b.Publish(delta("a", 0))
	if e := <-sub.Events(); e.SessionID != "a" {
		t.Fatalf("got an event of session %q", e.SessionID)
	}
}

func TestResumeReplaysTheMissedEvents(t *testing.T) {
	b, _ := newBus(DefaultConfig)
	var seqs []int64
	for i := range 5 {
		seqs = append(seqs, b.Publish(delta("s", i)).Seq)
	}
	sub, res := b.Subscribe("s", seqs[1], 16)
	defer sub.Close()
	if !res.Complete || len(res.Backlog) != 3 || res.Backlog[0].Seq != seqs[2] || res.Backlog[2].Seq != seqs[4] {
		t.Fatalf("resume after %d: %+v", seqs[1], res)
	}
	sub2, res2 := b.Subscribe("s", seqs[4], 16)
	defer sub2.Close()
	if !res2.Complete || len(res2.Backlog) != 0 {
		t.Fatalf("resume at the head: %+v", res2)
	}
}

func TestResumeOutsideTheWindowAsksForASnapshot(t *testing.T) {
	b, clock := newBus(Config{ReplayEvents: 3, ReplayAge: time.Minute})
	first := b.Publish(delta("s", 0)).Seq
	for i := 1; i < 10; i++ {
		b.Publish(delta("s", i))
	}
	if _, res := b.Subscribe("s", first, 16); res.Complete {
		t.Fatal("events dropped by the count bound were reported complete")
	}
	last := b.LastSeq("s")
	clock.now = clock.now.Add(2 * time.Minute)
	if _, res := b.Subscribe("s", last-1, 16); res.Complete {
		t.Fatal("events dropped by the age bound were reported complete")
	}
	if _, res := b.Subscribe("s", last+100, 16); res.Complete {
		t.Fatal("a seq from the future was reported complete")
	}
}

func TestSlowConsumerIsClosedNotSkipped(t *testing.T) {
	b, _ := newBus(DefaultConfig)
	slow, _ := b.Subscribe("s", -1, 2)
	fast, _ := b.Subscribe("s", -1, 16)
	defer fast.Close()
	for i := range 5 {
		b.Publish(delta("s", i))
	}
	n := 0
	for range slow.Events() {
		n++
	}
	if n != 2 || !errors.Is(slow.Err(), ports.ErrSlowConsumer) {
		t.Fatalf("slow subscriber got %d events then err %v", n, slow.Err())
	}
	for i := range 5 {
		if e := <-fast.Events(); e.Delta.Index != i {
			t.Fatalf("fast subscriber missed event %d", i)
		}
	}
}

func TestSignalsHaveNoSeqAndAreNotReplayed(t *testing.T) {
	b, _ := newBus(DefaultConfig)
	sub, _ := b.Subscribe("s", -1, 4)
	before := b.LastSeq("s")
	b.Signal(domain.SessionEvent{Type: domain.EventTyping, SessionID: "s", Typing: &domain.TypingSignal{UserID: "u", IsTyping: true}})
	if e := <-sub.Events(); e.Seq != 0 || e.Type != domain.EventTyping {
		t.Fatalf("signal arrived as %+v", e)
	}
	if b.LastSeq("s") != before {
		t.Fatal("a signal took a seq")
	}
	sub.Close()
	if _, ok := <-sub.Events(); ok {
		t.Fatal("closed subscription still delivers")
	}
	if sub.Err() != nil {
		t.Fatalf("Close ended with %v", sub.Err())
	}
}

func TestCloseEndsSubscriptionsAndEvictForgetsIdleSessions(t *testing.T) {
	b, clock := newBus(Config{IdleEvict: time.Minute})
	sub, _ := b.Subscribe("gone", -1, 4)
	b.Close("gone")
	if _, ok := <-sub.Events(); ok {
		t.Fatal("Close left the subscription open")
	}
	b.Publish(delta("idle", 0))
	live, _ := b.Subscribe("watched", -1, 4)
	defer live.Close()
	clock.now = clock.now.Add(2 * time.Minute)
	if n := b.Evict(); n != 1 || b.Sessions() != 1 {
		t.Fatalf("evicted %d, %d sessions left; want the idle one gone and the watched one kept", n, b.Sessions())
	}
}

func TestSeqsKeepIncreasingAcrossRestarts(t *testing.T) {
	old, clock := newBus(DefaultConfig)
	var last int64
	for i := range 100 {
		last = old.Publish(delta("s", i)).Seq
	}
	clock.now = clock.now.Add(time.Second)
	restarted := New(DefaultConfig, clock.Now)
	if first := restarted.Publish(delta("s", 0)).Seq; first <= last {
		t.Fatalf("a new process gave seq %d after the old one reached %d", first, last)
	}
}

func BenchmarkPublishToOneSubscriber(b *testing.B) {
	bus, _ := newBus(DefaultConfig)
	sub, _ := bus.Subscribe("s", -1, 1024)
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
		bus.Publish(e)
	}
	sub.Close()
	<-done
}
