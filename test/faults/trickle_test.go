package faults

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/llmsim"
	"github.com/chatd/chatd/test/harness"
)

// A reply that keeps arriving, a piece every 200 ms, must not fail on the
// idle timeout (3 s): bytes are arriving all along.
func TestUpstreamSteadyTrickle(t *testing.T) {
	t.Parallel()
	up := harness.StartUpstream(t, llmsim.Options{})
	u, err := url.Parse(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startTrickleProxy(t, u.Host, 200*time.Millisecond)
	r := startRig(t, idleTimeout, "http://"+proxy+"/v1")
	prompt := "Trickle the answer steadily"
	const tokens = 30 // 30 pieces after the first: 6 s, twice the idle timeout
	sid, res := r.turn(t, model("tokens=30"), prompt)
	reply := r.settle(t, sid, res, prompt, tokens)
	if reply.Status != "completed" {
		t.Fatalf("reply = %v, want completed: a piece of it arrived every 200 ms", reply)
	}
}

// trickleFirstEvents are delivered at once, ending on an event boundary,
// so that the first deltas arrive and the idle timeout (not the first-token
// timeout) is the one that runs.
const trickleFirstEvents = 3

var (
	// eventEnd ends an SSE event and the HTTP chunk that carries it.
	eventEnd = []byte("\n\n\r\n")
	// midEvent is inside every chunk's JSON: a cut after it falls inside an event.
	midEvent = []byte(`"choices":[`)
	// lastChunk ends a chunked HTTP body.
	lastChunk = []byte("0\r\n\r\n")
)

// startTrickleProxy forwards TCP to target. Its answers go back as a
// steady trickle: the first events at once, then one piece every interval,
// each cut right after `"choices":[`, that is, inside an event. It returns
// its address.
func startTrickleProxy(t *testing.T, target string, interval time.Duration) string {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	done := make(chan struct{})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := (&net.Dialer{}).DialContext(context.Background(), "tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, s)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(s, c) })
			wg.Go(func() { trickle(c, s, interval, done) })
		}
	})
	t.Cleanup(func() {
		close(done)
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// trickle copies src to dst as startTrickleProxy describes.
func trickle(dst, src net.Conn, interval time.Duration, done <-chan struct{}) {
	defer func() { _ = dst.Close() }()
	var (
		mu   sync.Mutex
		buf  []byte
		eof  bool
		more = make(chan struct{}, 1)
	)
	go func() {
		b := make([]byte, 32<<10)
		for {
			n, err := src.Read(b)
			mu.Lock()
			buf = append(buf, b[:n]...)
			eof = err != nil
			mu.Unlock()
			select {
			case more <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	// next waits until cut finds where the next piece ends in what is
	// buffered beyond sent; it returns that end, or len(buf) at EOF.
	sent := 0
	next := func(cut func(rest []byte) int) (int, bool) {
		for {
			mu.Lock()
			rest, ended := buf[sent:], eof
			mu.Unlock()
			if i := cut(rest); i >= 0 {
				return sent + i, true
			}
			if ended {
				return sent + len(rest), len(rest) > 0
			}
			select {
			case <-more:
			case <-done:
				return 0, false
			}
		}
	}
	write := func(end int) bool {
		mu.Lock()
		piece := append([]byte(nil), buf[sent:end]...)
		mu.Unlock()
		sent = end
		_, err := dst.Write(piece)
		return err == nil
	}
	// The headers and the first events, ending on an event boundary.
	end, ok := next(func(rest []byte) int { return afterNth(rest, eventEnd, trickleFirstEvents) })
	if !ok || !write(end) {
		return
	}
	// Then a piece per interval, each ending inside an event, until the body's end.
	for {
		select {
		case <-time.After(interval):
		case <-done:
			return
		}
		end, ok := next(func(rest []byte) int {
			if i := afterNth(rest, midEvent, 1); i >= 0 {
				return i
			}
			if bytes.HasSuffix(rest, lastChunk) {
				return len(rest)
			}
			return -1
		})
		if !ok || !write(end) {
			return
		}
		mu.Lock()
		finished := sent == len(buf) && bytes.HasSuffix(buf, lastChunk)
		mu.Unlock()
		if finished {
			break
		}
	}
	// Anything later (another request on this connection) goes through as it comes.
	for {
		end, ok := next(func(rest []byte) int {
			if len(rest) == 0 {
				return -1
			}
			return len(rest)
		})
		if !ok || !write(end) {
			return
		}
	}
}

// afterNth is the index just after the n-th occurrence of sep in b, or -1.
func afterNth(b, sep []byte, n int) int {
	at := 0
	for range n {
		i := bytes.Index(b[at:], sep)
		if i < 0 {
			return -1
		}
		at += i + len(sep)
	}
	return at
}
