package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/test/harness"
)

// broker is a private redis-server for one test: never the shared one on
// 6379, so a test may kill or restart it. Nothing is persisted (no snapshots,
// no append-only file): a restart comes back empty, as a broker that lost its
// memory would.
type broker struct {
	t    *testing.T
	addr string // 127.0.0.1:port, the same across restarts
	dir  string
	proc *exec.Cmd
	out  *harness.OutputBuffer
	done chan struct{} // closed when proc has exited
}

// URL is the value of CHAT_BROKER_URL for this broker.
func (b *broker) URL() string { return "redis://" + b.addr + "/0" }

// startBroker runs redis-server on a spare port until the test ends.
func startBroker(t *testing.T) *broker {
	t.Helper()
	b := &broker{t: t, dir: t.TempDir()}
	for attempt := 1; ; attempt++ {
		b.addr = harness.FreeAddr(t)
		err := b.launch()
		if err == nil {
			break
		}
		// Another program may have taken the port between the probe and
		// redis-server's bind: try another one.
		if attempt < 3 && strings.Contains(b.out.String(), "Address already in use") {
			continue
		}
		t.Fatalf("start redis-server on %s: %v\n%s", b.addr, err, tail(b.out.String(), 2000))
	}
	t.Cleanup(func() {
		b.kill()
		if t.Failed() {
			t.Logf("--- redis-server on %s:\n%s", b.addr, tail(b.out.String(), 3000))
		}
	})
	return b
}

// launch starts redis-server on b.addr and waits until it answers PING.
func (b *broker) launch() error {
	_, port, err := net.SplitHostPort(b.addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", b.addr, err)
	}
	// Its life is run by kill and restart, not by a context.
	cmd := exec.CommandContext(context.Background(), redisServerBin,
		"--port", port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no",
		"--dir", b.dir, "--logfile", "")
	if b.out == nil {
		b.out = &harness.OutputBuffer{}
	}
	cmd.Stdout, cmd.Stderr = b.out, b.out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", redisServerBin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	b.proc, b.done = cmd, done
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-done:
			return fmt.Errorf("redis-server exited (%s) before answering", cmd.ProcessState)
		default:
		}
		if err := pingRedis(b.addr); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			b.kill()
			return fmt.Errorf("no PONG within 15s: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends redis-server at once (SIGKILL) and waits for it.
func (b *broker) kill() {
	if b.proc == nil {
		return
	}
	select {
	case <-b.done:
	default:
		_ = b.proc.Process.Signal(syscall.SIGKILL)
		<-b.done
	}
}

// restart stops redis-server (SIGTERM, as an operator or an orchestrator
// would), keeps it down for outage, and starts it again on the same port,
// empty. It returns when the new server answers PING.
func (b *broker) restart(outage time.Duration) {
	b.t.Helper()
	if err := b.proc.Process.Signal(syscall.SIGTERM); err != nil {
		b.t.Fatalf("stop redis-server: %v", err)
	}
	select {
	case <-b.done:
	case <-time.After(15 * time.Second):
		b.kill()
		b.t.Fatalf("redis-server on %s did not exit within 15s of SIGTERM", b.addr)
	}
	// The outage is part of the scenario (a broker that is away for a
	// while), not a wait for something to happen.
	time.Sleep(outage)
	if err := b.launch(); err != nil {
		b.t.Fatalf("start redis-server again on %s: %v\n%s", b.addr, err, tail(b.out.String(), 2000))
	}
}

// pingRedis sends PING in the Redis protocol and expects +PONG.
func pingRedis(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return errors.New("answered " + strings.TrimSpace(line) + " to PING")
	}
	return nil
}
