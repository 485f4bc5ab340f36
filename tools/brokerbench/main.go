// brokerbench measures NATS JetStream vs Redis Streams+pub/sub for chatd's session events (issue 9).
// Run: cd tools/brokerbench && go run . -broker=both   (flags: -nats=nats://127.0.0.1:4222 -redis=127.0.0.1:6379)
// It creates uniquely named streams/keys (prefix bb_<pid>_<unix>) on the shared servers and deletes them at the end.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	publishN     = 20000 // item 1
	pipelineWin  = 256   // outstanding publishes in pipelined mode
	fanoutN      = 5000  // item 2
	fanoutRate   = 2000  // events/s
	fanoutSubs   = 3
	replayStream = 10000 // item 3: events in the session stream
	replayLast   = 2048
	replayRuns   = 20
	idleSessions = 10000 // item 4
	idleEvents   = 10
)

var (
	start  = time.Now()
	prefix = fmt.Sprintf("bb_%d_%d", os.Getpid(), time.Now().Unix())
	delta  = strings.Repeat("x", 60) // a ~60-byte token delta
)

// event builds an ~80-byte event: 8-byte seq, 8-byte send time (ns since start), 60-byte delta.
func event(seq uint64) []byte {
	b := make([]byte, 16, 16+len(delta))
	binary.BigEndian.PutUint64(b[0:], seq)
	binary.BigEndian.PutUint64(b[8:], uint64(time.Since(start)))
	return append(b, delta...)
}

func eventSeq(b []byte) uint64 { return binary.BigEndian.Uint64(b[0:]) }
func eventAge(b []byte) time.Duration {
	return time.Since(start) - time.Duration(binary.BigEndian.Uint64(b[8:]))
}

func pct(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(p*float64(len(s)-1))]
}

func us(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d.Nanoseconds())/1e3) }
func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Nanoseconds())/1e6) }

func reportPublish(name string, n int, d time.Duration) {
	fmt.Printf("  publish %-34s %8.1f µs/event  %9.0f events/s\n", name, float64(d.Nanoseconds())/1e3/float64(n), float64(n)/d.Seconds())
}

func reportFanout(lat [][]time.Duration) {
	var all []time.Duration
	for i, l := range lat {
		fmt.Printf("  fan-out sub %d: %d/%d received  p50 %s  p99 %s\n", i+1, len(l), fanoutN, us(pct(l, .5)), us(pct(l, .99)))
		all = append(all, l...)
	}
	fmt.Printf("  fan-out all subs: p50 %s  p99 %s  max %s\n", us(pct(all, .5)), us(pct(all, .99)), us(pct(all, 1)))
}

func reportReplay(runs []time.Duration) {
	fmt.Printf("  replay last %d of %d: p50 %s  min %s  max %s (%d runs)\n", replayLast, replayStream, ms(pct(runs, .5)), ms(pct(runs, 0)), ms(pct(runs, 1)), len(runs))
}

// pace sleeps until event i of a stream paced at fanoutRate/s is due.
func pace(t0 time.Time, i int) {
	if d := time.Until(t0.Add(time.Duration(i) * time.Second / fanoutRate)); d > 0 {
		time.Sleep(d)
	}
}

// procRSS returns the VmRSS (bytes) of the first process whose comm is name, or -1.
func procRSS(name string) int64 {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		if c, err := os.ReadFile(d + "/comm"); err != nil || strings.TrimSpace(string(c)) != name {
			continue
		}
		st, err := os.ReadFile(d + "/status")
		if err != nil {
			return -1
		}
		for _, l := range strings.Split(string(st), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb * 1024
			}
		}
	}
	return -1
}

func main() {
	broker := flag.String("broker", "both", "nats|redis|both")
	natsURL := flag.String("nats", "nats://127.0.0.1:4222", "NATS URL")
	redisAddr := flag.String("redis", "127.0.0.1:6379", "Redis address")
	flag.Parse()
	fmt.Printf("brokerbench prefix=%s\n", prefix)
	ok := true
	if *broker == "nats" || *broker == "both" {
		fmt.Println("== NATS JetStream ==")
		if err := benchNATS(*natsURL); err != nil {
			fmt.Println("  ERROR:", err)
			ok = false
		}
	}
	if *broker == "redis" || *broker == "both" {
		fmt.Println("== Redis Streams + pub/sub ==")
		if err := benchRedis(*redisAddr); err != nil {
			fmt.Println("  ERROR:", err)
			ok = false
		}
	}
	if !ok {
		os.Exit(1)
	}
}
