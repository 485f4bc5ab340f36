package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// bufferedConn sends gorilla's frame writes to a bufio.Writer: frames pile
// up until Flush, then leave in one write system call.
type bufferedConn struct {
	net.Conn
	w *bufio.Writer
}

func (c *bufferedConn) Write(p []byte) (int, error) { return c.w.Write(p) }

// hijackBuffered hands gorilla a bufferedConn at the upgrade.
type hijackBuffered struct {
	http.ResponseWriter
	conn *bufferedConn
}

func (h *hijackBuffered) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = &bufferedConn{Conn: c, w: bufio.NewWriterSize(c, 64<<10)}
	return h.conn, rw, nil
}

// BenchmarkLoopbackFrames is the evidence behind batching socket writes: one
// op is one ~190-byte delta frame written by gorilla/websocket over loopback
// TCP and read by a client, either one write system call per frame (what
// melody does today) or several frames per write. No chatd code runs.
func BenchmarkLoopbackFrames(b *testing.B) {
	frame := []byte(`{"type":"message.delta","session_id":"0199b7e2-7c1a-7d4e-9d55-1f7c2b9e8a10","seq":1764110000001234,` +
		`"data":{"message_id":"0199b7e2-7c1a-7d4e-9d55-1f7c2b9e8a11","delta":"token ","index":17}}`)
	for _, perWrite := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("frames-per-write=%d", perWrite), func(b *testing.B) {
			type upgraded struct {
				ws  *websocket.Conn
				buf *bufferedConn
			}
			ready := make(chan upgraded, 1)
			up := websocket.Upgrader{WriteBufferSize: 4096}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h := &hijackBuffered{ResponseWriter: w}
				c, err := up.Upgrade(h, r, nil)
				if err != nil {
					return
				}
				_ = h.conn.w.Flush() // the handshake answer
				ready <- upgraded{c, h.conn}
			}))
			defer srv.Close()
			client, resp, err := websocket.DefaultDialer.DialContext(context.Background(),
				"ws"+strings.TrimPrefix(srv.URL, "http"), nil)
			if err != nil {
				b.Fatal(err)
			}
			_ = resp.Body.Close()
			defer client.Close()
			u := <-ready
			out, bc := u.ws, u.buf
			defer out.Close()

			read := make(chan error, 1)
			go func() {
				buf := make([]byte, 512)
				for range b.N {
					_, r, err := client.NextReader()
					if err != nil {
						read <- err
						return
					}
					for {
						if _, err := r.Read(buf); err == io.EOF {
							break
						} else if err != nil {
							read <- err
							return
						}
					}
				}
				read <- nil
			}()

			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if err := out.WriteMessage(websocket.TextMessage, frame); err != nil {
					b.Fatal(err)
				}
				if (i+1)%perWrite == 0 || i == b.N-1 {
					if err := bc.w.Flush(); err != nil {
						b.Fatal(err)
					}
				}
			}
			select {
			case err := <-read:
				if err != nil {
					b.Fatal(err)
				}
			case <-time.After(30 * time.Second):
				b.Fatal("reader stuck")
			}
		})
	}
}
