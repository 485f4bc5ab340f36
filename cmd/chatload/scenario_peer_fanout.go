package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/internal/llmsim"
)

// Stand-in ids of the reply the peer scenarios publish: the same length as
// chatd's, so each frame has the same size as chatd's for the same token.
const (
	peerSessionID = "00000000-0000-7000-8000-00000000c0de"
	peerMessageID = "00000000-0000-7000-8000-00000000fade"
)

// runPeerFanout is fanout against Centrifugo: S subscribers of one channel,
// the tokens of the reply chatd's fanout would stream (same content, same
// frames) published as fast as the server API takes them, and the same
// measure: deltas delivered over all subscribers between the first delta
// anywhere and the last, with each subscriber checking the exact text,
// indexes and seqs.
func runPeerFanout(ctx context.Context, e *env, args []string) (*result, error) {
	fs := flag.NewFlagSet("chatload peer-fanout", flag.ContinueOnError)
	var peer peerFlags
	peer.register(fs)
	nSubs := fs.Int("subs", 1000, "WebSocket subscribers of the channel")
	pubs := fs.Int("pubs", 2000, "publications (the reply's tokens; one more carries the final frame)")
	perBatch := fs.Int("batch", 100, "publications per /api/batch request, sent one request after the other (1: one /api/publish each)")
	channel := fs.String("channel", "bench:fanout", "the channel (its namespace must allow anonymous subscribers)")
	par := fs.Int("dial-concurrency", 32, "handshakes in flight at once")
	readBuf := fs.Int("read-buffer", 16<<10, "client read buffer per socket")
	wait := fs.Duration("wait", 2*time.Minute, "longest wait for every subscriber to see the final frame")
	if err := e.parse(fs, args); err != nil {
		return nil, err
	}
	if *nSubs < 1 || *pubs < 1 || *perBatch < 1 || *par < 1 {
		return nil, errors.New("-subs, -pubs, -batch and -dial-concurrency must be at least 1")
	}
	ctx, cancel := e.withTimeout(ctx)
	defer cancel()
	method := "batch"
	if *perBatch == 1 {
		method = "publish"
	}
	res := &result{scenario: e.label("peer-fanout"), params: fmt.Sprintf("Centrifugo %s subs=%d pubs=%d via /api/%s (%d per request)",
		peer.url, *nSubs, *pubs, method, *perBatch)}
	cf := newCentrifugo(peer.url, peer.apiKey, *readBuf, e.http)

	content := "fanout of load run " + e.runID
	tokens := llmsim.ReplyTokens(content, *pubs)
	expected := strings.Join(tokens, "")
	method, bodies := publishBodies(*channel, replyFrames(peerSessionID, peerMessageID, tokens), *perBatch)

	e.progress("peer-fanout: opening %d subscribers of %s", *nSubs, *channel)
	subs := make([]*peerSub, *nSubs)
	var ended sync.WaitGroup
	ended.Add(*nSubs)
	err := forEach(ctx, *nSubs, *par, func(ctx context.Context, i int) error {
		cc, err := cf.open(ctx, *channel)
		if err != nil {
			return fmt.Errorf("subscriber %d: %w", i, err)
		}
		s := &peerSub{c: cc, check: newReplyCheck(expected), seq: newSeqCheck()}
		s.seq.see(&frame{typ: typeSnapshot}) // seqs start after 0, as after a snapshot
		subs[i] = s
		return nil
	})
	if err != nil {
		closePeerSubs(subs)
		return nil, err
	}
	var readers sync.WaitGroup
	var closing atomic.Bool
	for _, s := range subs {
		readers.Add(1)
		go func() {
			defer readers.Done()
			s.run(ended.Done, &closing)
		}()
	}
	time.Sleep(500 * time.Millisecond)

	e.progress("peer-fanout: publishing %d tokens to %d subscribers (%d requests to /api/%s)", *pubs, *nSubs, len(bodies), method)
	sampler := startSamplers(e.common.pids, 250*time.Millisecond)
	selfStart, wallStart := selfCPU(), time.Now()
	var pubErr error
	for _, b := range bodies {
		if pubErr = cf.apiCall(ctx, method, b); pubErr != nil {
			break
		}
	}
	pubTime := time.Since(wallStart)
	allEnded := make(chan struct{})
	go func() { ended.Wait(); close(allEnded) }()
	timedOut := false
	if pubErr == nil {
		select {
		case <-allEnded:
		case <-time.After(*wait):
			timedOut = true
		case <-ctx.Done():
			timedOut = true
		}
	}
	selfEnd, wall := selfCPU(), time.Since(wallStart)
	sampler.finish()
	closing.Store(true)
	closePeerSubs(subs)
	readers.Wait()
	if pubErr != nil {
		return nil, fmt.Errorf("publish: %w", pubErr)
	}

	var (
		deltas, pings  int64
		first, last    time.Time
		failed, closed int
		codes          = map[int]int{}
		problems       []string
	)
	for i, s := range subs {
		deltas += int64(s.check.deltas)
		pings += int64(s.c.pings)
		if !s.first.IsZero() && (first.IsZero() || s.first.Before(first)) {
			first = s.first
		}
		if s.last.After(last) {
			last = s.last
		}
		if s.closeCode != 0 {
			closed++
			codes[s.closeCode]++
		}
		if !s.check.ok() || s.seq.gaps+s.seq.dups > 0 {
			failed++
			if len(problems) < 5 {
				desc := s.check.problem()
				if s.readErr != nil {
					desc += fmt.Sprintf(" (read: %v)", s.readErr)
				}
				problems = append(problems, fmt.Sprintf("subscriber %d (close code %d, seq gaps %d, dups %d): %s",
					i, s.closeCode, s.seq.gaps, s.seq.dups, desc))
			}
		}
	}
	elapsed := last.Sub(first)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(deltas) / elapsed.Seconds()
	}
	res.judge("subscribers with every publication, in order (exact text, indexes, seqs)", fmt.Sprintf("%d of %d", *nSubs-failed, *nSubs),
		"all (zero loss)", failed == 0)
	res.judge("subscribers disconnected by the server", describeCounts(closed, codes, "code "), "0", closed == 0)
	res.add("tokens delivered per second (all subscribers)", fmt.Sprintf("%.0f/s (%d deltas in %s)", rate, deltas,
		elapsed.Round(time.Millisecond)))
	res.add("publications accepted by the server API", fmt.Sprintf("%d in %s (%.0f/s, %d requests to /api/%s)", *pubs+1,
		pubTime.Round(time.Millisecond), float64(*pubs+1)/pubTime.Seconds(), len(bodies), method))
	res.add("first publish -> last delta anywhere", last.Sub(wallStart).Round(time.Millisecond).String())
	sampler.report(res, "Centrifugo")
	res.add("chatload CPU (avg over the phase)", fmt.Sprintf("%.0f%% of one core", 100*float64(selfEnd-selfStart)/float64(wall)))
	if pings > 0 {
		res.note("%d server pings answered", pings)
	}
	if timedOut {
		res.note("not every subscriber saw the final frame within %s", *wait)
	}
	for _, p := range problems {
		res.note("%s", p)
	}
	res.note("each publication's data is chatd's own frame for the same event (message.delta, then message.completed)")
	res.lossFailures = failed
	return res, nil
}

// peerSub is one subscriber of the peer's channel, checking one reply.
type peerSub struct {
	c           *cfConn
	check       *replyCheck
	seq         seqCheck
	first, last time.Time
	closeCode   int
	readErr     error
}

// run reads until the socket ends; ended is called once, at the final frame
// or when the socket ends first. A socket that ends before closing is set
// records how. The fields are read after run returns.
func (s *peerSub) run(ended func(), closing *atomic.Bool) {
	var once sync.Once
	defer once.Do(ended)
	for {
		err := s.c.next(func(f *frame) error {
			s.seq.see(f)
			switch {
			case f.typ == typeDelta:
				now := time.Now()
				if s.first.IsZero() {
					s.first = now
				}
				s.last = now
				s.check.delta(f.index, f.delta)
			case f.isFinal():
				s.check.end(f)
				once.Do(ended)
			}
			return nil
		}, nil)
		if err != nil {
			if !closing.Load() {
				s.closeCode, s.readErr = peerCloseCode(err), err
				if s.closeCode == 0 {
					s.closeCode = -1 // ended without a close code
				}
			}
			return
		}
	}
}

func closePeerSubs(subs []*peerSub) {
	_ = forEach(context.Background(), len(subs), 64, func(_ context.Context, i int) error {
		if subs[i] != nil {
			closeSocket(subs[i].c.conn)
		}
		return nil
	})
}

// runPeerIdle is idle-sockets against Centrifugo: K connected and
// subscribed WebSockets spread over a few channels, left idle (pings
// answered), and the server's RSS per socket from /proc/<pid>/status.
func runPeerIdle(ctx context.Context, e *env, args []string) (*result, error) {
	fs := flag.NewFlagSet("chatload peer-idle", flag.ContinueOnError)
	var peer peerFlags
	peer.register(fs)
	k := fs.Int("n", 10000, "sockets to open")
	nChannels := fs.Int("channels", 10, "channels the sockets subscribe to (bench:idle-0, bench:idle-1, ...)")
	prefix := fs.String("channel-prefix", "bench:idle-", "channel names are this plus a number")
	settle := fs.Duration("settle", 15*time.Second, "idle time before the second reading")
	par := fs.Int("dial-concurrency", 32, "handshakes in flight at once")
	if err := e.parse(fs, args); err != nil {
		return nil, err
	}
	if *k < 1 || *nChannels < 1 || *par < 1 {
		return nil, errors.New("-n, -channels and -dial-concurrency must be at least 1")
	}
	if e.common.pid == 0 {
		return nil, errors.New("peer-idle reads the server's RSS from /proc: give Centrifugo's process id with -pid")
	}
	if err := checkOpenFiles(*k); err != nil {
		return nil, err
	}
	ctx, cancel := e.withTimeout(ctx)
	defer cancel()
	res := &result{scenario: e.label("peer-idle"), params: fmt.Sprintf("Centrifugo %s n=%d channels=%d settle=%s", peer.url, *k, *nChannels, *settle)}
	cf := newCentrifugo(peer.url, peer.apiKey, 512, e.http)

	time.Sleep(time.Second)
	before, err := readProc(e.common.pid)
	if err != nil {
		return nil, err
	}
	e.progress("peer-idle: opening %d sockets over %d channels", *k, *nChannels)
	conns := make([]*cfConn, *k)
	var closedEarly atomic.Int64
	var closing atomic.Bool
	var readers sync.WaitGroup
	dialStart := time.Now()
	err = forEach(ctx, *k, *par, func(ctx context.Context, i int) error {
		cc, err := cf.open(ctx, fmt.Sprintf("%s%d", *prefix, i%*nChannels))
		if err != nil {
			return fmt.Errorf("socket %d: %w", i, err)
		}
		conns[i] = cc
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				if err := cc.next(func(*frame) error { return nil }, nil); err != nil {
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
				closeSocket(conns[i].conn)
			}
			return nil
		})
		readers.Wait()
	}()
	if err != nil {
		return res, err
	}
	e.progress("peer-idle: %d open in %s; idle for %s", *k, dialTime.Round(time.Millisecond), *settle)
	select {
	case <-time.After(*settle):
	case <-ctx.Done():
		return res, ctx.Err()
	}
	after, err := readProc(e.common.pid)
	if err != nil {
		return res, err
	}
	rssPer := float64(after.rss-before.rss) / float64(*k)
	res.add("RSS per idle socket", fmt.Sprintf("%.1f KiB (%s -> %s)", rssPer/1024, mib(before.rss), mib(after.rss)))
	res.add("Centrifugo threads", fmt.Sprintf("%d -> %d", before.threads, after.threads))
	res.add("time to open all sockets", fmt.Sprintf("%s (%.0f connect+subscribe/s)", dialTime.Round(time.Millisecond),
		float64(*k)/dialTime.Seconds()))
	res.judge("sockets still open after the idle period", fmt.Sprintf("%d of %d", int64(*k)-closedEarly.Load(), *k),
		"all", closedEarly.Load() == 0)
	res.note("RSS is /proc/<pid>/status VmRSS before the first socket and after the idle period, as idle-sockets reads chatd's")
	return res, nil
}
