package llmsim

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestConcurrentStreams(t *testing.T) {
	const streams = 200
	h := newHarness(t, Options{ReplyTokens: 20, TimeToFirstToken: 10 * ms, TokensPerSecond: 200})
	var wg sync.WaitGroup
	errs := make(chan error, streams)
	for i := range streams {
		wg.Go(func() {
			user := fmt.Sprintf("stream number %d", i)
			_, events, err := h.stream(t, chatBody("m", user, true, true))
			if err != nil {
				errs <- err
				return
			}
			s, err := summarize(events)
			switch {
			case err != nil:
				errs <- err
			case s.content != ExpectedReply(user, 20) || !s.done || s.usage != 1:
				errs <- fmt.Errorf("stream %d: %+v", i, s)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	waitFor(t, "idle", h.sim.WaitIdle)
	if n := len(h.sim.Requests()); n != streams || h.sim.Cancelled() != 0 {
		t.Fatalf("%d requests, %d cancelled", n, h.sim.Cancelled())
	}
}

// BenchmarkStreams runs about 2000 unpaced 100-token streams at once; one
// op is one whole stream.
func BenchmarkStreams(b *testing.B) {
	sim := New(Options{ReplyTokens: 100, DisableRecording: true})
	ts := httptest.NewServer(sim.Handler())
	defer ts.Close()
	defer sim.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 4096}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	body := chatBody("m", "hello", true, true)
	b.SetParallelism(max(2000/runtime.GOMAXPROCS(0), 1))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, ts.URL+"/v1/chat/completions", strings.NewReader(body))
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
	})
}
