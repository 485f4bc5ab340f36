package bench

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// tokensPerReply bounds each reply, so a reply always fits the server's
// per-subscriber buffers even when llmsim sends as fast as it can: the
// benchmarks measure the relay, not the slow-consumer path.
const tokensPerReply = 400

// repliesPerSession bounds the history sent upstream with each reply.
const repliesPerSession = 10

// forTokens runs fn for consecutive replies that add up to n tokens.
func forTokens(n int, fn func(reply, tokens int)) {
	for i := 0; n > 0; i++ {
		t := min(n, tokensPerReply)
		fn(i, t)
		n -= t
	}
}

// sessionFor returns the session for reply i, creating a fresh one (off the
// clock) every repliesPerSession replies.
func sessionFor(b *testing.B, r *rig, i int, current *string) string {
	if i%repliesPerSession == 0 {
		b.StopTimer()
		*current = r.session(b, model(1, 0))
		b.StartTimer()
	}
	return *current
}

// BenchmarkDirectToken is the baseline: one op is one token streamed by the
// in-process llmsim and read by the client, without chatd.
func BenchmarkDirectToken(b *testing.B) {
	r := newRig(b)
	b.ReportAllocs()
	b.ResetTimer()
	forTokens(b.N, func(i, t int) {
		_, got, err := r.directReply(fmt.Sprintf("direct reply %d", i), model(t, 0))
		if err != nil || got != t {
			b.Fatalf("reply %d: %d of %d chunks, %v", i, got, t, err)
		}
	})
}

// BenchmarkRelayTokenSSE is one token from llmsim through chatd (upstream
// reader, generator, event bus, SSE writer) to the poster's SSE stream.
// Subtract BenchmarkDirectToken for what chatd adds per token.
func BenchmarkRelayTokenSSE(b *testing.B) {
	r := newRig(b)
	var session string
	b.ReportAllocs()
	b.ResetTimer()
	forTokens(b.N, func(i, t int) {
		s := sessionFor(b, r, i, &session)
		_, got, err := r.sseReply(s, fmt.Sprintf("sse reply %d", i), model(t, 0))
		if err != nil || got != t {
			b.Fatalf("reply %d: %d of %d deltas, %v", i, got, t, err)
		}
	})
}

// BenchmarkRelayTokenWS is one token from llmsim through chatd (upstream
// reader, generator, event bus, room pump, melody) to a WebSocket
// subscriber of the session.
func BenchmarkRelayTokenWS(b *testing.B) {
	r := newRig(b)
	var session string
	var conn *websocket.Conn
	var buf []byte
	b.ReportAllocs()
	b.ResetTimer()
	forTokens(b.N, func(i, t int) {
		if i%repliesPerSession == 0 {
			b.StopTimer()
			if conn != nil {
				_ = conn.Close()
			}
			session = r.session(b, model(1, 0))
			conn = r.socket(b, session)
			b.StartTimer()
		}
		r.post(b, session, fmt.Sprintf("ws reply %d", i), model(t, 0))
		got, next, err := readUntilCompleted(conn, buf)
		buf = next
		if err != nil || got != t {
			b.Fatalf("reply %d: %d of %d deltas, %v", i, got, t, err)
		}
	})
}

// BenchmarkFanoutWS is one token delivered to every one of S WebSocket
// subscribers of a session; ns/delivery is the cost per socket write.
func BenchmarkFanoutWS(b *testing.B) {
	for _, subs := range []int{10, 100} {
		b.Run(fmt.Sprintf("subs=%d", subs), func(b *testing.B) {
			r := newRig(b)
			session := r.session(b, model(1, 0))
			conns := make([]*websocket.Conn, subs)
			for i := range conns {
				conns[i] = r.socket(b, session)
			}
			bufs := make([][]byte, subs)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			forTokens(b.N, func(i, t int) {
				var wg sync.WaitGroup
				errs := make([]error, subs)
				for j, c := range conns {
					wg.Add(1)
					go func() {
						defer wg.Done()
						got, next, err := readUntilCompleted(c, bufs[j])
						bufs[j] = next
						if err == nil && got != t {
							err = fmt.Errorf("%d of %d deltas", got, t)
						}
						errs[j] = err
					}()
				}
				r.post(b, session, fmt.Sprintf("fanout reply %d", i), model(t, 0))
				wg.Wait()
				for j, err := range errs {
					if err != nil {
						b.Fatalf("reply %d, subscriber %d: %v", i, j, err)
					}
				}
			})
			b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N)/float64(subs), "ns/delivery")
		})
	}
}

// BenchmarkFirstDelta is one post with llmsim answering at once (ttft=0):
// ns/op is the whole short turn; first-ns/op is POST -> first delta.
func BenchmarkFirstDelta(b *testing.B) {
	b.Run("chatd-sse", func(b *testing.B) {
		r := newRig(b)
		var session string
		var total time.Duration
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			s := sessionFor(b, r, i, &session)
			first, got, err := r.sseReply(s, fmt.Sprintf("first delta %d", i), model(3, 0))
			if err != nil || got != 3 {
				b.Fatalf("post %d: %d deltas, %v", i, got, err)
			}
			total += first
		}
		b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "first-ns/op")
	})
	b.Run("direct", func(b *testing.B) {
		r := newRig(b)
		var total time.Duration
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			first, got, err := r.directReply(fmt.Sprintf("first delta %d", i), model(3, 0))
			if err != nil || got != 3 {
				b.Fatalf("post %d: %d chunks, %v", i, got, err)
			}
			total += first
		}
		b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "first-ns/op")
	})
}
