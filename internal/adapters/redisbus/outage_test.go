package redisbus

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// A process whose connections to Redis drop (its network, not Redis) gets
// every event published meanwhile once it is back, from the stream; its own
// Publish fails while it is cut off.
func TestAProcessCutOffCatchesUpFromTheStream(t *testing.T) {
	checkNoLeaks(t)
	url := redisURL(t)
	p := startProxy(t, url)
	cfg := Config{URL: url, Prefix: newPrefix(t, url), ReplayEvents: 64}
	direct := openBus(t, cfg)
	cfg.URL = p.url
	cut := openBusTuned(t, cfg, tuning{quietPing: testTuning.quietPing, opTimeout: time.Second})

	s, _ := mustSubscribe(t, cut, "s", -1, 64)
	before := mustPublish(t, direct, delta("s", 0))
	expectEvents(t, s, before)

	p.cut()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := cut.Publish(ctx, delta("s", 1)); err == nil {
		t.Fatal("Publish succeeded while its process was cut off from Redis")
	}
	if _, _, err := cut.Subscribe(ctx, "other", -1, 4); err == nil {
		t.Fatal("Subscribe succeeded while its process was cut off from Redis")
	}
	var missed []domain.SessionEvent
	for i := range 20 {
		missed = append(missed, mustPublish(t, direct, delta("s", 2+i)))
	}
	p.heal()
	expectEvents(t, s, missed...)
	after := mustPublish(t, direct, delta("s", 30))
	expectEvents(t, s, after)
}

// A pub/sub connection that dies without an error (its peer gone without a
// reset) is noticed by the unanswered ping and replaced, and the events it
// swallowed are read from the stream.
func TestASilentlyDeadConnectionIsReplaced(t *testing.T) {
	checkNoLeaks(t)
	url := redisURL(t)
	p := startProxy(t, url)
	cfg := Config{URL: url, Prefix: newPrefix(t, url), ReplayEvents: 64}
	direct := openBus(t, cfg)
	cfg.URL = p.url
	frozen := openBus(t, cfg)

	s, _ := mustSubscribe(t, frozen, "s", -1, 64)
	before := mustPublish(t, direct, delta("s", 0))
	expectEvents(t, s, before)
	if n := p.freezePubSub(); n != 1 {
		t.Fatalf("froze %d pub/sub connections, want the bus's one", n)
	}
	var swallowed []domain.SessionEvent
	for i := range 5 {
		swallowed = append(swallowed, mustPublish(t, direct, delta("s", 1+i)))
	}
	expectEvents(t, s, swallowed...)
	after := mustPublish(t, direct, delta("s", 10))
	expectEvents(t, s, after)

	r := newRecorder()
	frozen.HandleCancels(r.handle)
	if err := direct.RequestCancel(t.Context(), "r1"); err != nil {
		t.Fatal(err)
	}
	if got := r.next(t); got != "r1" {
		t.Fatalf("cancel %q", got)
	}
}

type recorder struct{ ids chan string }

func newRecorder() *recorder { return &recorder{ids: make(chan string, 8)} }

func (r *recorder) handle(id string) { r.ids <- id }

func (r *recorder) next(t *testing.T) string {
	t.Helper()
	select {
	case id := <-r.ids:
		return id
	case <-time.After(patience):
		t.Fatalf("no cancel request within %s", patience)
	}
	return ""
}

// A broker that restarts without its data: Publish fails while it is down,
// seqs keep increasing after it is back (the counter starts again from
// Redis's clock), and a subscriber either gets every event published or
// ends with ErrSlowConsumer: never a silent gap.
func TestABrokerRestartNeverLeavesASilentGap(t *testing.T) {
	checkNoLeaks(t)
	srv := startRedisServer(t)
	cfg := Config{URL: srv.url, Prefix: "chatd-test", ReplayEvents: 4096}
	subscriber, publisher := openBus(t, cfg), openBus(t, cfg)
	s, _ := mustSubscribe(t, subscriber, "s", -1, 1<<14)

	var (
		mu        sync.Mutex
		published []int64 // seqs of the Publish calls that succeeded
		failed    int
	)
	counts := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return len(published), failed
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			e, err := publisher.Publish(ctx, delta("s", i))
			cancel()
			mu.Lock()
			if err != nil {
				failed++
			} else {
				published = append(published, e.Seq)
			}
			mu.Unlock()
			if err != nil {
				time.Sleep(5 * time.Millisecond) // pace the attempts while Redis is down
			}
		}
	}()
	eventually(t, "events are published", func() bool { n, _ := counts(); return n >= 100 })
	srv.stop()
	eventually(t, "Publish fails while Redis is down", func() bool { _, f := counts(); return f >= 3 })
	srv.start()
	n, _ := counts()
	eventually(t, "events are published after the restart", func() bool { m, _ := counts(); return m >= n+100 })
	close(stop)
	<-done

	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(published); i++ {
		if published[i] <= published[i-1] {
			t.Fatalf("seq %d after %d: the restart took seqs back", published[i], published[i-1])
		}
	}
	last := published[len(published)-1]
	var got []int64
	deadline := time.After(patience)
read:
	for len(got) == 0 || got[len(got)-1] < last {
		select {
		case e, ok := <-s.Events():
			if !ok {
				break read
			}
			got = append(got, e.Seq)
		case <-deadline:
			t.Fatalf("the subscriber neither ended nor got seq %d (it got %d events, last %v)", last, len(got), got[len(got)-1:])
		}
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("the subscriber got seq %d after %d", got[i], got[i-1])
		}
	}
	reached := int64(0) // the subscriber's last seq
	if len(got) > 0 {
		reached = got[len(got)-1]
	}
	// Every event published up to the subscriber's last one reached it. (It
	// may also have one whose Publish failed after Redis ran it.)
	for _, seq := range published {
		if seq > reached {
			break
		}
		if _, found := slices.BinarySearch(got, seq); !found {
			t.Fatalf("silent gap: seq %d was published but the subscriber went on without it", seq)
		}
	}
	if reached < last {
		if err := s.Err(); !errors.Is(err, ports.ErrSlowConsumer) {
			t.Fatalf("the subscriber stopped at seq %d of %d with %v, want ErrSlowConsumer", reached, last, err)
		}
		t.Logf("the subscriber got %d events up to seq %d, then ErrSlowConsumer: Redis lost what came before the restart", len(got), reached)
	} else {
		t.Logf("the subscriber got all %d events", len(got))
	}

	// A subscriber after the restart is served as usual.
	fresh, _ := mustSubscribe(t, subscriber, "s", -1, 8)
	e := mustPublish(t, publisher, delta("s", -1))
	expectEvents(t, fresh, e)
}
