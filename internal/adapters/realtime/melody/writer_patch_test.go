package melody

import (
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The patch (PATCH.md): the writer ends after writerLinger without
// messages, a message queued later starts a new one, and every message
// still arrives once, in order, however the writer's end races the senders.
func TestIdleSessionLetsItsWriterGo(t *testing.T) {
	m := New()
	connected := make(chan *Session, 1)
	m.HandleConnect(func(s *Session) { connected <- s })
	server := httptest.NewServer(&TestServer{m: m})
	defer server.Close()

	conn := MustNewDialer(server.URL)
	defer conn.Close()
	s := <-connected

	expect := 0
	read := func(n int) {
		t.Helper()
		for range n {
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, msg, err := conn.ReadMessage()
			if err != nil {
				t.Fatalf("message %d: %v", expect, err)
			}
			if got := string(msg); got != strconv.Itoa(expect) {
				t.Fatalf("got message %q, want %d", got, expect)
			}
			expect++
		}
	}
	_ = s.Write([]byte("0"))
	read(1)
	waitWriter(t, s, false)

	// A message after the writer ended starts a new one.
	_ = s.Write([]byte("1"))
	read(1)

	// Senders racing the writer's end: each message exactly once, in order.
	waitWriter(t, s, false)
	for round := range 8 {
		var wg sync.WaitGroup
		base := expect
		wg.Go(func() {
			time.Sleep(writerLinger - time.Duration(round)*time.Millisecond)
			for i := range 5 {
				_ = s.Write([]byte(strconv.Itoa(base + i)))
			}
		})
		wg.Wait()
		read(5)
	}
}

// waitWriter waits until a writer runs (want) or not.
func waitWriter(t *testing.T, s *Session, want bool) {
	t.Helper()
	deadline := time.Now().Add(3 * writerLinger)
	for s.writing.Load() != want {
		if time.Now().After(deadline) {
			t.Fatalf("writer running = %v after %v, want %v", s.writing.Load(), 3*writerLinger, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Pings keep coming while the session is idle and has no writer.
func TestIdleSessionIsPinged(t *testing.T) {
	m := New()
	m.Config.PingPeriod = 50 * time.Millisecond
	server := httptest.NewServer(&TestServer{m: m})
	defer server.Close()

	conn := MustNewDialer(server.URL)
	defer conn.Close()
	pings := make(chan struct{}, 16)
	conn.SetPingHandler(func(string) error {
		select {
		case pings <- struct{}{}:
		default:
		}
		return nil
	})
	go func() {
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	for i := range 3 {
		select {
		case <-pings:
		case <-time.After(2 * time.Second):
			t.Fatalf("ping %d did not come", i)
		}
	}
}
