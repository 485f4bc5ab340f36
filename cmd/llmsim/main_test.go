package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/chatd/chatd/internal/llmsim"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// syncBuffer is a bytes.Buffer the server's goroutines may write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunServesLogsAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--ttft", "0", "--tps", "0", "--tokens", "5"}, &stderr,
			func(url string) { urls <- url })
	}()
	var url string
	select {
	case url = <-urls:
	case err := <-done:
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	body := `{"model":"sim-small","stream":true,"messages":[{"role":"user","content":"Hello"}]}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/chat/completions", strings.NewReader(body))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	stream, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if got := streamedContent(t, string(stream)); got != llmsim.ExpectedReply("Hello", 5) ||
		!strings.HasSuffix(string(stream), "data: [DONE]\n\n") {
		t.Fatalf("content %q, stream:\n%s", got, stream)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not stop")
	}
	logs := stderr.String()
	for _, want := range []string{"llmsim listening", "msg=completion model=sim-small stream=true status=200 tokens=5", "llmsim stopped"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

func TestFlags(t *testing.T) {
	opts, addr, err := parseFlags(nil, io.Discard)
	if err != nil || addr != "127.0.0.1:11434" || opts.TimeToFirstToken != 300*time.Millisecond ||
		opts.TokensPerSecond != 30 || opts.ReplyTokens != 60 || opts.Fault != llmsim.FaultNone || !opts.DisableRecording {
		t.Fatalf("defaults %+v %q %v", opts, addr, err)
	}
	opts, _, err = parseFlags([]string{"--fault", "stall", "--stall-after", "4", "--reasoning", "--keepalive", "1s", "--tokens", "0"}, io.Discard)
	if err != nil || opts.Fault != llmsim.FaultStall || opts.StallAfter != 4 || !opts.Reasoning || opts.KeepAlive != time.Second || opts.ReplyTokens != -1 {
		t.Fatalf("%+v %v", opts, err)
	}
	if _, _, err := parseFlags([]string{"--help"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, args := range [][]string{{"--fault", "boom"}, {"--tokens", "-1"}, {"--nope"}, {"extra"}} {
		if _, _, err := parseFlags(args, io.Discard); !errors.Is(err, errUsage) {
			t.Errorf("%v: %v", args, err)
		}
	}
}

func TestListenFailureIsReported(t *testing.T) {
	err := run(context.Background(), []string{"--addr", "256.0.0.1:1"}, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("got %v", err)
	}
}

// streamedContent concatenates the content deltas of an SSE body.
func streamedContent(t *testing.T, stream string) string {
	t.Helper()
	var b strings.Builder
	for _, line := range strings.Split(stream, "\n") {
		if !strings.HasPrefix(line, "data: {") {
			continue
		}
		var c struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(line[len("data: "):]), &c); err != nil {
			t.Fatal(err)
		}
		for _, ch := range c.Choices {
			b.WriteString(ch.Delta.Content)
		}
	}
	return b.String()
}
