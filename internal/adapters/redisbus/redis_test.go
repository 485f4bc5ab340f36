package redisbus

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/chatd/chatd/internal/adapters/redistest"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

const (
	setupTimeout = 10 * time.Second
	patience     = 15 * time.Second // how long a test waits for what must happen soon
)

// testTuning pings quiet connections sooner than production, so the tests
// of dead connections do not take long; healthy ones answer well within it.
var testTuning = tuning{quietPing: 300 * time.Millisecond, opTimeout: 5 * time.Second}

// redisURL returns the test Redis's URL, or skips the test (redistest.URL).
func redisURL(t testing.TB) string {
	t.Helper()
	return redistest.URL(t)
}

// checkNoLeaks fails the test if any goroutine it started outlives it (its
// buses shut down, its proxies and servers stopped). Call it first, so that
// its check runs after every other cleanup.
func checkNoLeaks(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// newClient opens a plain client for the test's own looks at Redis.
func newClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// newPrefix returns a key prefix of the test's own, deleted at its end.
func newPrefix(t testing.TB, url string) string {
	t.Helper()
	return redistest.Prefix(t, url)
}

// openBus opens a bus with the test's tuning and shuts it down when the
// test ends.
func openBus(t testing.TB, cfg Config) *Bus {
	t.Helper()
	return openBusTuned(t, cfg, testTuning)
}

func openBusTuned(t testing.TB, cfg Config, tune tuning) *Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), setupTimeout)
	defer cancel()
	b, err := open(ctx, cfg, zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)), tune)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Shutdown(); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return b
}

func delta(session string, i int) domain.SessionEvent {
	return domain.SessionEvent{Type: domain.EventMessageDelta, SessionID: session,
		Delta: &domain.MessageDelta{MessageID: "m", Delta: "token", Index: i}}
}

func mustPublish(t *testing.T, b *Bus, e domain.SessionEvent) domain.SessionEvent {
	t.Helper()
	got, err := b.Publish(t.Context(), e)
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	return got
}

func mustSubscribe(t *testing.T, b *Bus, session string, afterSeq int64, buffer int) (ports.Subscription, ports.Resume) {
	t.Helper()
	s, res, err := b.Subscribe(t.Context(), session, afterSeq, buffer)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	t.Cleanup(s.Close)
	return s, res
}

// next waits for s's next event and fails if s ends first.
func next(t *testing.T, s ports.Subscription) domain.SessionEvent {
	t.Helper()
	select {
	case e, ok := <-s.Events():
		if !ok {
			t.Fatalf("the subscription ended (err %v) while an event was expected", s.Err())
		}
		return e
	case <-time.After(patience):
		t.Fatalf("no event within %s", patience)
	}
	return domain.SessionEvent{}
}

func expectEvents(t *testing.T, s ports.Subscription, want ...domain.SessionEvent) {
	t.Helper()
	for i, w := range want {
		if got := next(t, s); !reflect.DeepEqual(got, w) {
			t.Fatalf("event %d: got %+v, want %+v", i, got, w)
		}
	}
}

// expectEnd reads s to its end and checks what it read and why it ended.
func expectEnd(t *testing.T, s ports.Subscription, wantErr error, want ...domain.SessionEvent) {
	t.Helper()
	var got []domain.SessionEvent
	deadline := time.After(patience)
	for {
		select {
		case e, ok := <-s.Events():
			if ok {
				got = append(got, e)
				continue
			}
			if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
				t.Fatalf("read %v before the end, want %v", seqs(got), seqs(want))
			}
			if err := s.Err(); !errors.Is(err, wantErr) || (wantErr == nil && err != nil) {
				t.Fatalf("ended with %v, want %v", err, wantErr)
			}
			return
		case <-deadline:
			t.Fatalf("the subscription did not end within %s (read %v)", patience, seqs(got))
		}
	}
}

func seqs(events []domain.SessionEvent) []int64 {
	out := make([]int64, len(events))
	for i, e := range events {
		out[i] = e.Seq
	}
	return out
}

// eventually polls cond until it holds or patience runs out.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, patience)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
