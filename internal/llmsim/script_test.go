package llmsim

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

func TestScriptWritesEveryKindOfEvent(t *testing.T) {
	h := newHarness(t, fast)
	h.sim.Script(func(req Request, w *StreamWriter) {
		w.Comment("OPENROUTER PROCESSING")
		w.Reasoning("hmm")
		w.ReasoningContent("…")
		w.Chunk(req.LastUserMessage() + "\n\"quoted\"")
		w.Raw("data:{\"choices\":[]}\r\n\r\n")
		w.ErrorChunk(429, "slow down")
		w.Finish("content_filter")
		w.Usage(3, 4)
		w.Done()
	})
	resp := h.post(context.Background(), t, chatBody("anything", "ping", true, false), nil)
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	head := `data: {"id":"chatcmpl-sim-1","object":"chat.completion.chunk","created":` +
		strings.SplitN(strings.SplitN(string(body), `"created":`, 2)[1], ",", 2)[0] + `,"model":"anything","choices":[`
	want := ": OPENROUTER PROCESSING\n\n" +
		head + `{"index":0,"delta":{"role":"assistant","reasoning":"hmm"},"finish_reason":null}]}` + "\n\n" +
		head + `{"index":0,"delta":{"reasoning_content":"…"},"finish_reason":null}]}` + "\n\n" +
		head + `{"index":0,"delta":{"content":"ping\n\"quoted\""},"finish_reason":null}]}` + "\n\n" +
		"data:{\"choices\":[]}\r\n\r\n" +
		head + `{"index":0,"delta":{"content":""},"finish_reason":"error"}],"error":{"code":429,"message":"slow down"}}` + "\n\n" +
		head + `{"index":0,"delta":{},"finish_reason":"content_filter"}]}` + "\n\n" +
		head + `],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}` + "\n\n" +
		"data: [DONE]\n\n"
	if string(body) != want {
		t.Fatalf("body:\n%s\nwant:\n%s", body, want)
	}
}

func TestScriptStatus(t *testing.T) {
	h := newHarness(t, fast)
	h.sim.Script(func(_ Request, w *StreamWriter) {
		w.Header().Set("Retry-After", "7")
		w.Status(http.StatusServiceUnavailable, `{"error":{"message":"busy","code":"overloaded"}}`)
		w.Chunk("ignored")
		if w.Err() == nil {
			t.Error("a chunk after Status should fail")
		}
	})
	resp := h.post(context.Background(), t, chatBody("m", "hi", true, false), nil)
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "7" ||
		resp.Header.Get("Content-Type") != "application/json" || string(body) != `{"error":{"message":"busy","code":"overloaded"}}` {
		t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, body)
	}
}

func TestScriptSeesTheRequest(t *testing.T) {
	h := newHarness(t, fast)
	got := make(chan Request, 1)
	h.sim.Script(func(req Request, w *StreamWriter) {
		got <- req
		w.Status(http.StatusOK, "{}")
	})
	body := `{"model":"vendor/m","models":["vendor/m","other/m"],"stream":true,"stream_options":{"include_usage":true},` +
		`"temperature":0.5,"top_p":0.9,"max_completion_tokens":77,"stop":"END",` +
		`"messages":[{"role":"system","content":"S"},{"role":"user","content":[{"type":"text","text":"part one "},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"part two"}]}]}`
	resp := h.post(context.Background(), t, body, http.Header{"Authorization": {"Bearer k"}, "X-Title": {"chatd"}})
	_ = resp.Body.Close()
	req := <-got
	if req.Model != "vendor/m" || strings.Join(req.Models, ",") != "vendor/m,other/m" || !req.Stream ||
		!req.IncludeUsage() || *req.Temperature != 0.5 || *req.TopP != 0.9 || req.MaxTokens != 77 ||
		strings.Join(req.Stop, ",") != "END" || len(req.Messages) != 2 || req.LastUserMessage() != "part one part two" {
		t.Fatalf("%+v", req)
	}
	if req.Header.Get("Authorization") != "Bearer k" || req.Header.Get("X-Title") != "chatd" || string(req.Body) != body || req.Received.IsZero() {
		t.Fatalf("header %v body %s", req.Header, req.Body)
	}
}

func TestScriptWaitsForTheClientToLeave(t *testing.T) {
	h := newHarness(t, fast)
	var sawCancel atomic.Bool
	h.sim.Script(func(_ Request, w *StreamWriter) {
		w.Chunk("first")
		<-w.Context().Done()
		sawCancel.Store(true)
	})
	ctx, cancel := context.WithCancel(context.Background())
	resp := h.post(ctx, t, chatBody("m", "hi", true, false), nil)
	buf := make([]byte, 1024)
	if n, err := resp.Body.Read(buf); err != nil || !strings.Contains(string(buf[:n]), "first") {
		t.Fatalf("read %q %v", buf[:n], err)
	}
	cancel()
	_ = resp.Body.Close()
	waitFor(t, "the cancel", func(ctx context.Context) error { return h.sim.WaitCancelled(ctx, 1) })
	if !sawCancel.Load() {
		t.Fatal("the script did not see its context end")
	}
}

func TestScriptNilRestoresTheSimulation(t *testing.T) {
	h := newHarness(t, fast)
	h.sim.Script(func(_ Request, w *StreamWriter) { w.Status(http.StatusTeapot, "") })
	h.sim.Script(nil)
	_, events, err := h.stream(t, chatBody("m", "hi", true, false))
	if s, _ := summarize(events); err != nil || s.content != ExpectedReply("hi", 6) {
		t.Fatalf("%+v %v", s, err)
	}
}
