package e2e

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/fx"

	"github.com/chatd/chatd/internal/adapters/realtime"
	"github.com/chatd/chatd/test/harness"
)

// Idle sockets hold no writer goroutine (realtime/melody/PATCH.md), so the
// pings come from a timer: a client that answers them stays open through
// many pong waits and gets the next reply; a client that never answers is
// dropped once the pong wait passes.
func TestWebSocketIdleSocketsArePinged(t *testing.T) {
	const pingPeriod, pongWait = 200 * time.Millisecond, 600 * time.Millisecond
	srv := wsStart(t, wsConfig(t, harness.SQLite), fx.Decorate(func(c realtime.Config) realtime.Config {
		c.PingPeriod, c.PongWait = pingPeriod, pongWait
		return c
	}))
	owner := srv.NewUser(t)
	sid := wsSession(t, owner, wsModel("tokens=5"))

	live := owner.WS(sid)
	var pings atomic.Int64
	live.Conn.SetPingHandler(func(data string) error {
		pings.Add(1)
		return live.Conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	silent := owner.WS(sid)
	silent.Conn.SetPingHandler(func(string) error { return nil })
	live.ExpectType("session.snapshot", harness.WSTimeout)
	silent.ExpectType("session.snapshot", harness.WSTimeout)

	// The silent socket is dropped after the pong wait.
	dropped := time.Now()
	for {
		_, err := silent.Next(harness.WSTimeout)
		if err == nil {
			continue // presence and the like
		}
		if errors.Is(err, harness.ErrWSTimeout) {
			t.Fatalf("a socket that never answers pings was still open after %v", time.Since(dropped))
		}
		break
	}

	// Five pong waits of idleness, longer than the writer's linger.
	idle := 5 * pongWait
	time.Sleep(idle)
	if got, want := pings.Load(), int64(idle/pingPeriod)/2; got < want {
		t.Fatalf("%d pings in %v of idleness, want at least %d (one every %v)", got, idle, want, pingPeriod)
	}
	_, replyID := wsSend(t, owner, sid, "still there?", "")
	frames := wsSequenced(t, live, replyID)
	if last := frames[len(frames)-1]; last.Type != "message.completed" {
		t.Fatalf("the reply after the idle spell ended with %s, want message.completed", last.Type)
	}
}
