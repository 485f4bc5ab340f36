package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// benchRedis: one stream per session (XADD MAXLEN ~ 2048) for replay, plus PUBLISH on a per-session channel
// for live fan-out; both sent in one pipeline round trip per event, which is what chatd would do.
func benchRedis(addr string) error {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return err
	}
	key := func(s string) string { return prefix + ":s:" + s }
	var created []string
	defer func() {
		n := 0
		for c := range slices.Chunk(created, 1000) {
			n += int(rdb.Unlink(context.Background(), c...).Val())
		}
		fmt.Printf("  cleanup: unlinked %d keys\n", n)
	}()
	xadd := func(p redis.Pipeliner, k string, ev []byte) {
		p.XAdd(ctx, &redis.XAddArgs{Stream: k, MaxLen: replayLast, Approx: true, Values: []any{"e", ev}})
	}
	pubEvent := func(p redis.Pipeliner, s string, ev []byte) {
		xadd(p, key(s), ev)
		p.Publish(ctx, key(s)+":live", ev)
	}

	// 1. publish cost
	created = append(created, key("pub"), key("pubx"), key("pubpipe"), key("fan"), key("replay"))
	t0 := time.Now()
	for i := range publishN {
		if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error { pubEvent(p, "pub", event(uint64(i+1))); return nil }); err != nil {
			return err
		}
	}
	reportPublish("sync XADD+PUBLISH (1 RTT/event)", publishN, time.Since(t0))
	t0 = time.Now()
	for i := range publishN {
		if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: key("pubx"), MaxLen: replayLast, Approx: true, Values: []any{"e", event(uint64(i + 1))}}).Err(); err != nil {
			return err
		}
	}
	reportPublish("sync XADD only", publishN, time.Since(t0))
	t0 = time.Now()
	for i := 0; i < publishN; i += pipelineWin {
		if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for j := i; j < min(i+pipelineWin, publishN); j++ {
				pubEvent(p, "pubpipe", event(uint64(j+1)))
			}
			return nil
		}); err != nil {
			return err
		}
	}
	reportPublish(fmt.Sprintf("pipelined XADD+PUBLISH (%d/batch)", pipelineWin), publishN, time.Since(t0))

	// 2. fan-out to 3 subscribers, each its own client (connection)
	lat := make([][]time.Duration, fanoutSubs)
	var wg sync.WaitGroup
	for i := range fanoutSubs {
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		sub := c.Subscribe(ctx, key("fan")+":live")
		defer sub.Close()
		if _, err := sub.Receive(ctx); err != nil { // wait for the subscription confirmation
			return err
		}
		ch := sub.Channel(redis.WithChannelSize(fanoutN))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range ch {
				lat[i] = append(lat[i], eventAge([]byte(m.Payload)))
				if len(lat[i]) == fanoutN {
					return
				}
			}
		}()
	}
	t0 = time.Now()
	for i := range fanoutN {
		pace(t0, i)
		if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error { pubEvent(p, "fan", event(uint64(i+1))); return nil }); err != nil {
			return err
		}
	}
	if waitTimeout(&wg, 10*time.Second) {
		fmt.Println("  fan-out: timed out waiting for subscribers")
	}
	reportFanout(lat)

	// 3. replay the last 2048 of 10,000: XREVRANGE + COUNT, reversed into order
	for i := 0; i < replayStream; i += pipelineWin {
		if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for j := i; j < min(i+pipelineWin, replayStream); j++ {
				xadd(p, key("replay"), event(uint64(j+1)))
			}
			return nil
		}); err != nil {
			return err
		}
	}
	fmt.Printf("  replay stream XLEN after MAXLEN ~ %d: %d\n", replayLast, rdb.XLen(ctx, key("replay")).Val())
	var runs []time.Duration
	for range replayRuns {
		t0 := time.Now()
		msgs, err := rdb.XRevRangeN(ctx, key("replay"), "+", "-", replayLast).Result()
		if err != nil {
			return err
		}
		slices.Reverse(msgs)
		want := uint64(replayStream - replayLast + 1)
		for _, m := range msgs {
			if got := eventSeq([]byte(m.Values["e"].(string))); got != want {
				return fmt.Errorf("replay out of order: got seq %d want %d", got, want)
			}
			want++
		}
		if len(msgs) != replayLast {
			return fmt.Errorf("replay got %d events, want %d", len(msgs), replayLast)
		}
		runs = append(runs, time.Since(t0))
	}
	reportReplay(runs)

	// 4. memory per idle session: 10,000 streams x 10 events with MAXLEN ~ 2048
	mem0, err := usedMemory(ctx, rdb)
	if err != nil {
		return err
	}
	for s := 0; s < idleSessions; s += 100 {
		if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for j := s; j < s+100; j++ {
				k := key(fmt.Sprintf("idle%d", j))
				created = append(created, k)
				for e := range idleEvents {
					xadd(p, k, event(uint64(e+1)))
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	mem1, err := usedMemory(ctx, rdb)
	if err != nil {
		return err
	}
	fmt.Printf("  idle sessions: %d streams x %d events; used_memory %.1f MiB -> %.1f MiB: +%.0f B/session\n",
		idleSessions, idleEvents, float64(mem0)/(1<<20), float64(mem1)/(1<<20), float64(mem1-mem0)/idleSessions)
	return nil
}

func usedMemory(ctx context.Context, rdb *redis.Client) (int64, error) {
	s, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(s, "\r\n") {
		if v, ok := strings.CutPrefix(l, "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("used_memory not in INFO")
}
