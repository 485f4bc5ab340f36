package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// runIdleSockets opens K WebSockets to a few sessions, lets them sit idle,
// and reports what they cost chatd: RSS and Go heap + stacks per socket.
func runIdleSockets(ctx context.Context, e *env, args []string) (*result, error) {
	fs := flag.NewFlagSet("chatload idle-sockets", flag.ContinueOnError)
	k := fs.Int("n", 10000, "sockets to open")
	nSessions := fs.Int("sessions", 10, "sessions the sockets are spread over")
	settle := fs.Duration("settle", 15*time.Second, "idle time before the second reading")
	par := fs.Int("dial-concurrency", 32, "handshakes in flight at once")
	if err := e.parse(fs, args); err != nil {
		return nil, err
	}
	if *k < 1 || *nSessions < 1 || *par < 1 {
		return nil, errors.New("-n, -sessions and -dial-concurrency must be at least 1")
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && uint64(*k)+256 > lim.Cur {
		return nil, fmt.Errorf("%d sockets need more open files than this process may hold (%d): raise ulimit -n or lower -n", *k, lim.Cur)
	}
	ctx, cancel := e.withTimeout(ctx)
	defer cancel()
	res := &result{scenario: e.label("idle-sockets"), params: fmt.Sprintf("n=%d sessions=%d settle=%s", *k, *nSessions, *settle)}

	users, err := e.api.registerUsers(ctx, e.runID, e.common.password, 1)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	u := users[0]
	sessions := make([]string, *nSessions)
	for i := range sessions {
		if sessions[i], err = e.api.createSession(ctx, u.token, e.common.provider, simModel(5, 0, 0)); err != nil {
			return nil, fmt.Errorf("create session: %w", err)
		}
	}
	time.Sleep(2 * time.Second)
	before, err := memoryReading(ctx, e)
	if err != nil {
		return nil, err
	}

	e.progress("idle-sockets: opening %d sockets over %d sessions", *k, *nSessions)
	ws := newWSClient(e.common.chatd, 512)
	conns := make([]*websocket.Conn, *k)
	var closedEarly atomic.Int64
	var closing atomic.Bool
	var readers sync.WaitGroup
	dialStart := time.Now()
	err = forEach(ctx, *k, *par, func(ctx context.Context, i int) error {
		conn, err := ws.dial(ctx, u.token, sessions[i%len(sessions)])
		if err != nil {
			return fmt.Errorf("socket %d: %w", i, err)
		}
		conns[i] = conn
		r := newWSReader(conn)
		gotSnapshot := false
		if err := r.next(func(f *frame) error { gotSnapshot = gotSnapshot || f.typ == typeSnapshot; return nil }); err != nil {
			return fmt.Errorf("socket %d: first frame: %w", i, err)
		}
		if !gotSnapshot {
			return fmt.Errorf("socket %d: the first frame was not a session.snapshot", i)
		}
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				if err := r.next(func(*frame) error { return nil }); err != nil {
					if !closing.Load() {
						closedEarly.Add(1)
					}
					return
				}
			}
		}()
		return nil
	})
	dialTime := time.Since(dialStart)
	defer func() {
		closing.Store(true)
		_ = forEach(context.Background(), len(conns), 64, func(_ context.Context, i int) error {
			if conns[i] != nil {
				closeSocket(conns[i])
			}
			return nil
		})
		readers.Wait()
	}()
	if err != nil {
		return res, err
	}
	e.progress("idle-sockets: %d open in %s; idle for %s", *k, dialTime.Round(time.Millisecond), *settle)
	select {
	case <-time.After(*settle):
	case <-ctx.Done():
		return res, ctx.Err()
	}
	after, err := memoryReading(ctx, e)
	if err != nil {
		return res, err
	}
	e.common.prof.heap(e.label("idle-sockets"))
	per := func(a, b int64) float64 { return float64(b-a) / float64(*k) }
	rssPer := per(before.rss, after.rss)
	res.judge("RSS per idle socket", fmt.Sprintf("%.1f KiB (%s -> %s)", rssPer/1024, mib(before.rss), mib(after.rss)),
		"<= 16 KiB (Centrifugo ~53 KB, untuned melody ~33 KB)", rssPer <= 16*1024)
	res.add("Go heap in use per socket", fmt.Sprintf("%.1f KiB", per(before.heap, after.heap)/1024))
	res.add("goroutine stacks per socket", fmt.Sprintf("%.1f KiB", per(before.stack, after.stack)/1024))
	res.add("goroutines per socket", fmt.Sprintf("%.2f (%d -> %d)", per(int64(before.goroutines), int64(after.goroutines)),
		before.goroutines, after.goroutines))
	res.add("chatd_ws_active_connections", fmt.Sprintf("%d", after.active))
	res.add("time to open all sockets", fmt.Sprintf("%s (%.0f handshakes/s)", dialTime.Round(time.Millisecond),
		float64(*k)/dialTime.Seconds()))
	res.judge("sockets still open after the idle period", fmt.Sprintf("%d of %d", int64(*k)-closedEarly.Load(), *k),
		"all", closedEarly.Load() == 0)
	if after.active != *k {
		res.note("chatd reports %d active connections, %d were opened", after.active, *k)
	}
	res.note("RSS is /proc/<pid>/status VmRSS when -pid is given, else process_resident_memory_bytes; heap and stacks from /metrics")
	return res, nil
}

// memory is one reading of chatd's memory.
type memory struct {
	rss, heap, stack int64
	goroutines       int
	active           int
}

func memoryReading(ctx context.Context, e *env) (memory, error) {
	m, err := serverMetrics(ctx, e.http, e.common.chatd)
	if err != nil {
		return memory{}, fmt.Errorf("read /metrics: %w", err)
	}
	out := memory{
		rss:        int64(m["process_resident_memory_bytes"]),
		heap:       int64(m["go_memstats_heap_inuse_bytes"]),
		stack:      int64(m["go_memstats_stack_inuse_bytes"]),
		goroutines: int(m["go_goroutines"]),
		active:     int(m["chatd_ws_active_connections"]),
	}
	if e.common.pid != 0 {
		st, err := readProc(e.common.pid)
		if err != nil {
			return out, err
		}
		out.rss = st.rss
	}
	return out, nil
}
