package realtime

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"
)

// recordingConn keeps every write that reaches it.
type recordingConn struct {
	net.Conn
	writes []string
	closed bool
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, string(p))
	return len(p), nil
}

func (c *recordingConn) Close() error { c.closed = true; return nil }

func (c *recordingConn) SetWriteDeadline(time.Time) error { return nil }

func TestBatchConnHoldsFramesWhileMoreAreQueued(t *testing.T) {
	sock := &socket{}
	raw := &recordingConn{}
	c := &batchConn{Conn: raw, sock: sock}
	write := func(queued int32, p string) {
		t.Helper()
		sock.pending.Store(queued)
		if n, err := c.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", p, n, err)
		}
	}

	write(1, "alone") // nothing queued behind it: written at once
	write(3, "a")
	write(2, "b")
	if len(raw.writes) != 1 {
		t.Fatalf("frames with more queued behind them reached the connection: %q", raw.writes)
	}
	write(1, "c") // the last queued frame takes the batch with it
	if want := []string{"alone", "abc"}; strings.Join(raw.writes, "|") != strings.Join(want, "|") {
		t.Fatalf("writes %q, want %q", raw.writes, want)
	}

	// A batch never grows past maxBatch.
	big := string(bytes.Repeat([]byte("x"), maxBatch/2+1))
	write(5, big)
	write(4, big)
	if len(raw.writes) != 3 || len(raw.writes[2]) != len(big)*2 {
		t.Fatalf("a batch over maxBatch was not written: %d writes", len(raw.writes))
	}

	// Close writes what is held back first.
	write(3, "held")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if last := raw.writes[len(raw.writes)-1]; last != "held" || !raw.closed {
		t.Fatalf("close: last write %q, closed %v", last, raw.closed)
	}
}
