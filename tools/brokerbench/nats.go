package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// benchNATS: one stream (file storage, per-subject limit 2048) with one subject per session, as chatd would use it.
// Live fan-out uses core subscriptions on the session subject (each process subscribes); replay uses an ordered consumer.
func benchNATS(url string) error {
	ctx := context.Background()
	nc, err := nats.Connect(url)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(pipelineWin))
	if err != nil {
		return err
	}
	name := prefix + "_events"
	subj := func(s string) string { return prefix + ".s." + s }
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: name, Subjects: []string{prefix + ".s.*"}, Storage: jetstream.FileStorage,
		MaxMsgsPerSubject: replayLast, Discard: jetstream.DiscardOld,
	})
	if err != nil {
		return err
	}
	defer func() {
		if err := js.DeleteStream(context.Background(), name); err != nil {
			fmt.Println("  cleanup:", err)
		} else {
			fmt.Println("  cleanup: deleted stream", name)
		}
	}()

	// 1. publish cost
	t0 := time.Now()
	for i := range publishN {
		if _, err := js.Publish(ctx, subj("pub"), event(uint64(i+1))); err != nil {
			return err
		}
	}
	reportPublish("sync (await each ack)", publishN, time.Since(t0))
	t0 = time.Now()
	for i := range publishN {
		if _, err := js.PublishAsync(subj("pubasync"), event(uint64(i+1))); err != nil {
			return err
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		return fmt.Errorf("async acks timed out")
	}
	reportPublish(fmt.Sprintf("async (≤%d acks in flight)", pipelineWin), publishN, time.Since(t0))

	// 2. fan-out to 3 subscribers on separate connections
	lat := make([][]time.Duration, fanoutSubs)
	var wg sync.WaitGroup
	for i := range fanoutSubs {
		c, err := nats.Connect(url)
		if err != nil {
			return err
		}
		defer c.Close()
		wg.Add(1)
		var mu sync.Mutex
		_, err = c.Subscribe(subj("fan"), func(m *nats.Msg) {
			mu.Lock()
			lat[i] = append(lat[i], eventAge(m.Data))
			if len(lat[i]) == fanoutN {
				wg.Done()
			}
			mu.Unlock()
		})
		if err != nil {
			return err
		}
		if err := c.Flush(); err != nil {
			return err
		}
	}
	t0 = time.Now()
	for i := range fanoutN {
		pace(t0, i)
		if _, err := js.Publish(ctx, subj("fan"), event(uint64(i+1))); err != nil {
			return err
		}
	}
	if waitTimeout(&wg, 10*time.Second) {
		fmt.Println("  fan-out: timed out waiting for subscribers")
	}
	reportFanout(lat)

	// 3. replay the last 2048 of 10,000 (the per-subject limit keeps exactly the last 2048)
	for i := range replayStream {
		if _, err := js.PublishAsync(subj("replay"), event(uint64(i+1))); err != nil {
			return err
		}
	}
	<-js.PublishAsyncComplete()
	var runs []time.Duration
	for range replayRuns {
		t0 := time.Now()
		cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subj("replay")}})
		if err != nil {
			return err
		}
		batch, err := cons.Fetch(replayLast, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return err
		}
		var n int
		want := uint64(replayStream - replayLast + 1)
		for m := range batch.Messages() {
			if got := eventSeq(m.Data()); got != want {
				return fmt.Errorf("replay out of order: got seq %d want %d", got, want)
			}
			want++
			n++
		}
		if n != replayLast {
			return fmt.Errorf("replay got %d events, want %d (%v)", n, replayLast, batch.Error())
		}
		runs = append(runs, time.Since(t0))
	}
	reportReplay(runs)

	// 4. memory per idle session: 10,000 subjects x 10 events on the same stream
	rss0 := procRSS("nats-server")
	info0, _ := st.Info(ctx)
	for s := range idleSessions {
		for e := range idleEvents {
			if _, err := js.PublishAsync(subj(fmt.Sprintf("idle%d", s)), event(uint64(e+1))); err != nil {
				return err
			}
		}
	}
	<-js.PublishAsyncComplete()
	time.Sleep(2 * time.Second)
	rss1 := procRSS("nats-server")
	info1, err := st.Info(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("  idle sessions: %d subjects x %d events; stream subjects %d->%d, stored bytes +%d (%.0f B/session on disk)\n",
		idleSessions, idleEvents, info0.State.NumSubjects, info1.State.NumSubjects,
		info1.State.Bytes-info0.State.Bytes, float64(info1.State.Bytes-info0.State.Bytes)/idleSessions)
	fmt.Printf("  nats-server RSS %.1f MiB -> %.1f MiB: +%.0f B/session (no monitoring port; /proc VmRSS)\n",
		float64(rss0)/(1<<20), float64(rss1)/(1<<20), float64(rss1-rss0)/idleSessions)
	return nil
}

// waitTimeout waits for wg and reports whether it timed out.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return false
	case <-time.After(d):
		return true
	}
}
