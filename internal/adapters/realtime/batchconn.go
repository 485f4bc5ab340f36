package realtime

import (
	"net"
	"sync"
	"time"
)

// maxBatch bounds the bytes a socket holds back: past it they are written
// even though more frames are queued.
const maxBatch = 64 << 10

// batchConn is the connection under melody's writer. While more of the
// socket's frames are queued behind the one being written, it holds the
// bytes back and hands them to the kernel with the last of them, in one
// write: a subscriber that is behind costs a syscall per batch rather than
// per frame. One write(2) per frame per socket was 74% of the CPU of a
// 1000-subscriber fan-out (BENCHMARKS.md). The frames and their order are
// unchanged; only how many reach the kernel at once.
//
// This wraps melody's connection rather than changing melody: its writer
// stays as it is, and the socket's own count of queued frames (which
// melody's sent handler lowers after each write) says when to flush.
type batchConn struct {
	net.Conn
	sock *socket

	mu   sync.Mutex
	held *[]byte // nil while nothing is held back
}

// batchBufs lends the buffers batches gather in, so an idle socket holds
// none.
var batchBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

func (c *batchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// pending counts the frame being written until its write returns.
	if c.sock.pending.Load() > 1 && c.heldLen()+len(p) <= maxBatch {
		if c.held == nil {
			c.held = batchBufs.Get().(*[]byte)
		}
		*c.held = append(*c.held, p...)
		return len(p), nil
	}
	if c.held == nil {
		return c.Conn.Write(p)
	}
	*c.held = append(*c.held, p...) // a copy, cheaper than a second syscall (or TLS record)
	_, err := c.Conn.Write(*c.held)
	c.release()
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close writes what is held back, briefly, before closing: a close frame
// may be queued behind frames that raced it.
func (c *batchConn) Close() error {
	c.mu.Lock()
	if c.held != nil {
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.Conn.Write(*c.held)
		c.release()
	}
	c.mu.Unlock()
	return c.Conn.Close()
}

func (c *batchConn) heldLen() int {
	if c.held == nil {
		return 0
	}
	return len(*c.held)
}

func (c *batchConn) release() {
	*c.held = (*c.held)[:0]
	batchBufs.Put(c.held)
	c.held = nil
}
