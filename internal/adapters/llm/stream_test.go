package llm

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

func TestStreamContentAndUsage(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		startSSE(w)
		send(w, contentEvent("Hel"), contentEvent("lo"), finishEvent("stop"))
		send(w, `data: {"id":"x","object":"chat.completion.chunk","model":"served/model","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,"cost":0.00042}}`+"\n\n")
		send(w, doneEvent)
	})
	c := localClient(t, u)
	temp, topP, maxTok := 0.0, 0.9, 64
	req := localReq("llama3.2")
	req.Temperature, req.TopP, req.MaxTokens, req.Stop = &temp, &topP, &maxTok, []string{"\n\n"}

	comp, d, err := stream(t, c, req)
	mustNotFail(t, err)
	if d.content.String() != "Hello" || d.reasoning.String() != "" || d.n != 2 {
		t.Errorf("deltas = %q / %q in %d, want Hello in 2", d.content.String(), d.reasoning.String(), d.n)
	}
	if comp.FinishReason != "stop" || comp.Model != "served/model" {
		t.Errorf("completion = %+v", comp)
	}
	if comp.Usage.PromptTokens != 12 || comp.Usage.CompletionTokens != 3 || comp.Usage.Estimated ||
		comp.Usage.CostUSD == nil || *comp.Usage.CostUSD != 0.00042 {
		t.Errorf("usage = %+v", comp.Usage)
	}

	reqs := u.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	got := reqs[0]
	if got.method != http.MethodPost || got.path != "/v1/chat/completions" {
		t.Errorf("request = %s %s", got.method, got.path)
	}
	if got.header.Get("Accept") != "text/event-stream" || got.header.Get("Content-Type") != "application/json" ||
		got.header.Get("Accept-Encoding") != "identity" {
		t.Errorf("headers = %v", got.header)
	}
	b := got.body
	if b["model"] != "llama3.2" || b["stream"] != true || b["temperature"] != 0.0 || b["top_p"] != 0.9 ||
		b["max_tokens"] != 64.0 || fmt.Sprint(b["stop"]) != "[\n\n]" {
		t.Errorf("body = %v", b)
	}
	if so, _ := b["stream_options"].(map[string]any); so["include_usage"] != true {
		t.Errorf("stream_options = %v", b["stream_options"])
	}
	msgs, _ := b["messages"].([]any)
	if len(msgs) != 2 || fmt.Sprint(msgs[0]) != "map[content:You are terse. role:system]" {
		t.Errorf("messages = %v", msgs)
	}
	if _, ok := b["models"]; ok {
		t.Error("LOCAL got a models field")
	}
}

func TestStreamOmitsUnsetSettings(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) { replyOK(w, "ok") })
	_, _, err := stream(t, localClient(t, u), localReq("m"))
	mustNotFail(t, err)
	for _, k := range []string{"temperature", "top_p", "max_tokens", "stop", "models"} {
		if _, ok := u.requests()[0].body[k]; ok {
			t.Errorf("body has %s although it was not set", k)
		}
	}
}

func TestStreamReasoningKeptApart(t *testing.T) {
	for _, field := range []string{"reasoning", "reasoning_content"} {
		t.Run(field, func(t *testing.T) {
			u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
				startSSE(w)
				send(w, event(chunkWith(map[string]any{"role": "assistant", "content": "", field: "Let me think. "}, nil)))
				send(w, event(chunkWith(map[string]any{field: "Done thinking."}, nil)))
				send(w, event(chunkWith(map[string]any{"content": "Answer", field: nil}, nil)))
				send(w, finishEvent("stop"), doneEvent)
			})
			comp, d, err := stream(t, localClient(t, u), localReq("deepseek-r1"))
			mustNotFail(t, err)
			if d.reasoning.String() != "Let me think. Done thinking." || d.content.String() != "Answer" {
				t.Errorf("reasoning %q, content %q", d.reasoning.String(), d.content.String())
			}
			if comp.FinishReason != "stop" {
				t.Errorf("finish = %q", comp.FinishReason)
			}
		})
	}
	t.Run("both names, same text", func(t *testing.T) {
		u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
			startSSE(w)
			send(w, event(chunkWith(map[string]any{"reasoning": "once", "reasoning_content": "once"}, nil)))
			send(w, contentEvent("A"), finishEvent("stop"), doneEvent)
		})
		_, d, err := stream(t, localClient(t, u), localReq("m"))
		mustNotFail(t, err)
		if d.reasoning.String() != "once" {
			t.Errorf("reasoning = %q, want it once", d.reasoning.String())
		}
	})
}

// TestStreamWireVariants feeds the same reply in each way servers write it.
func TestStreamWireVariants(t *testing.T) {
	long := strings.Repeat("x", 200<<10)
	cases := []struct {
		name string
		raw  string
		want string
	}{
		{"keep-alive comments", ": OPENROUTER PROCESSING\n\n" + contentEvent("a") + ": OPENROUTER PROCESSING\n\n" + contentEvent("b"), "ab"},
		{"data without space", strings.ReplaceAll(contentEvent("a")+contentEvent("b"), "data: ", "data:"), "ab"},
		{"CRLF", strings.ReplaceAll(contentEvent("a")+": ping\n\n"+contentEvent("b"), "\n", "\r\n"), "ab"},
		{"200 KiB line", contentEvent(long) + contentEvent("!"), long + "!"},
		{"multi-line data", "data: {\"choices\":[{\"index\":0,\n" + `data: "delta":{"content":"ab"}}]}` + "\n\n", "ab"},
		{"other fields ignored", "event: message\nid: 1\nretry: 100\n" + contentEvent("ab"), "ab"},
		{"empty events skipped", "data:\n\ndata: \n\n" + contentEvent("ab"), "ab"},
		{"byte-order mark", "\xEF\xBB\xBF" + contentEvent("ab"), "ab"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
				startSSE(w)
				end := finishEvent("stop") + doneEvent
				if strings.Contains(tc.raw, "\r\n") {
					end = strings.ReplaceAll(end, "\n", "\r\n")
				}
				// Written in odd-sized pieces so that events straddle reads.
				raw := tc.raw + end
				for len(raw) > 0 {
					n := min(len(raw), 7777)
					send(w, raw[:n])
					raw = raw[n:]
				}
			})
			comp, d, err := stream(t, localClient(t, u), localReq("m"))
			mustNotFail(t, err)
			if d.content.String() != tc.want {
				t.Errorf("content = %.60q (%d bytes), want %.60q (%d bytes)", d.content.String(), d.content.Len(), tc.want, len(tc.want))
			}
			if comp.FinishReason != "stop" {
				t.Errorf("finish = %q", comp.FinishReason)
			}
		})
	}
}

func TestStreamErrorChunks(t *testing.T) {
	cases := []struct {
		name    string
		chunk   string
		summary string
	}{
		{"OpenRouter", `data: {"id":"x","object":"chat.completion.chunk","model":"m","error":{"code":502,"message":"Provider returned error: upstream overloaded"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}` + "\n\n",
			"upstream overloaded"},
		{"vLLM", `data: {"object":"error","message":"The model ran out of KV cache.","type":"InternalServerError","param":null,"code":500}` + "\n\n",
			"ran out of KV cache"},
		{"finish_reason error", event(chunkWith(map[string]any{}, "error")), ""},
		{"error as text", `data: {"error":"model crashed"}` + "\n\n", "model crashed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
				startSSE(w)
				send(w, contentEvent("partial "), tc.chunk)
				// Whatever follows an error is never shown.
				send(w, contentEvent("AFTER"), finishEvent("stop"), doneEvent)
			})
			comp, d, err := stream(t, localClient(t, u), localReq("m"))
			de := wantCode(t, err, domain.ErrUnavailable, codeProviderError)
			wantDetail(t, de, "the LOCAL model server failed while answering", tc.summary)
			if d.content.String() != "partial " {
				t.Errorf("content = %q, want the text before the error only", d.content.String())
			}
			if comp != (ports.Completion{}) {
				t.Errorf("completion = %+v on failure", comp)
			}
			if u.count() != 1 {
				t.Errorf("%d requests: retried after the first token", u.count())
			}
		})
	}
}

func TestStreamErrorChunkBeforeFirstTokenIsRetried(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		if n == 0 {
			startSSE(w)
			send(w, `data: {"error":{"code":503,"message":"no capacity"}}`+"\n\n")
			return
		}
		replyOK(w, "fine")
	})
	_, d, err := stream(t, localClient(t, u), localReq("m"))
	mustNotFail(t, err)
	if d.content.String() != "fine" || u.count() != 2 {
		t.Errorf("content %q after %d requests", d.content.String(), u.count())
	}
}

func TestStreamEndings(t *testing.T) {
	cases := []struct {
		name    string
		raw     string
		success bool
	}{
		{"EOF without [DONE] or finish_reason", contentEvent("a"), false},
		{"[DONE] without finish_reason", contentEvent("a") + doneEvent, false},
		{"EOF after finish_reason, no [DONE]", contentEvent("a") + finishEvent("length"), true},
		{"[DONE] after finish_reason", contentEvent("a") + finishEvent("length") + doneEvent, true},
		{"finish without the closing blank line", contentEvent("a") + strings.TrimSuffix(finishEvent("length"), "\n"), true},
		{"partial last line", contentEvent("a") + `data: {"choices":[{"delta":{},"finish_reason":"st`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
				startSSE(w)
				send(w, tc.raw)
			})
			comp, d, err := stream(t, localClient(t, u), localReq("m"))
			if d.content.String() != "a" {
				t.Errorf("content = %q", d.content.String())
			}
			if tc.success {
				mustNotFail(t, err)
				if comp.FinishReason != "length" {
					t.Errorf("finish = %q", comp.FinishReason)
				}
				return
			}
			de := wantCode(t, err, domain.ErrUnavailable, codeIncomplete)
			wantDetail(t, de, "the provider ended the reply before it was finished")
		})
	}
}

func TestStreamEmptyReplyBeforeFirstTokenFallsBackNotRetries(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		startSSE(w)
		send(w, doneEvent)
	})
	_, _, err := stream(t, localClient(t, u), localReq("m"))
	wantCode(t, err, domain.ErrUnavailable, codeIncomplete)
	if u.count() != 1 {
		t.Errorf("%d requests; a provider that said [DONE] is not retried", u.count())
	}
}

// TestStreamConnectionReset breaks the TCP connection (RST) mid-reply: the
// text so far was delivered, the reply fails, nothing is retried.
func TestStreamConnectionReset(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		body := contentEvent("one ") + contentEvent("two ")
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n", len(body), body)
		_ = buf.Flush()
		_ = conn.(*net.TCPConn).SetLinger(0) // close with RST
		_ = conn.Close()
	})
	comp, d, err := stream(t, localClient(t, u), localReq("m"))
	de := wantCode(t, err, domain.ErrUnavailable, codeIncomplete)
	wantDetail(t, de, "broke before the reply was finished")
	if d.content.String() != "one two " {
		t.Errorf("content = %q, want the deltas before the reset", d.content.String())
	}
	if comp.FinishReason != "" || u.count() != 1 {
		t.Errorf("completion %+v after %d requests", comp, u.count())
	}
}

func TestStreamResetBeforeFirstTokenIsRetried(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 0 {
			startSSE(w)
			send(w, ": hello\n\n")
			panic(http.ErrAbortHandler) // the server drops the connection
		}
		replyOK(w, "second try")
	})
	_, d, err := stream(t, localClient(t, u), localReq("m"))
	mustNotFail(t, err)
	if d.content.String() != "second try" || u.count() != 2 {
		t.Errorf("content %q after %d requests", d.content.String(), u.count())
	}
}

func TestStreamUsageEstimated(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		startSSE(w)
		send(w, contentEvent("12345678"), event(chunkWith(map[string]any{"reasoning": "abcd"}, nil)), finishEvent("stop"), doneEvent)
	})
	req := localReq("m")
	req.Messages = []ports.PromptMessage{{Role: domain.RoleUser, Content: strings.Repeat("é", 41)}}
	comp, _, err := stream(t, localClient(t, u), req)
	mustNotFail(t, err)
	want := ports.Usage{PromptTokens: 11, CompletionTokens: 3, Estimated: true} // ceil(41/4), ceil(12/4)
	if comp.Usage != want {
		t.Errorf("usage = %+v, want %+v", comp.Usage, want)
	}
	if comp.Model != "served/model" {
		t.Errorf("model = %q", comp.Model)
	}
}

func TestStreamModelFallsBackToRequested(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		startSSE(w)
		send(w, `data: {"choices":[{"delta":{"content":"x"},"finish_reason":"stop"}]}`+"\n\n", doneEvent)
	})
	comp, _, err := stream(t, localClient(t, u), localReq("llama3.2"))
	mustNotFail(t, err)
	if comp.Model != "llama3.2" {
		t.Errorf("model = %q, want the requested one when the server names none", comp.Model)
	}
}

func TestStreamLastServedModelWins(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		startSSE(w)
		send(w, `data: {"model":"first","choices":[{"delta":{"content":"x"}}]}`+"\n\n")
		send(w, `data: {"model":"second","choices":[{"delta":{"content":"y"}}]}`+"\n\n")
		send(w, `data: {"model":"","choices":[{"delta":{},"finish_reason":"stop"}]}`+"\n\n")
		send(w, `data: {"model":null,"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}`+"\n\n", doneEvent)
	})
	comp, _, err := stream(t, localClient(t, u), localReq("asked"))
	mustNotFail(t, err)
	if comp.Model != "second" {
		t.Errorf("model = %q", comp.Model)
	}
}

func TestStreamJSONAnswer(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"model":"m2","choices":[{"message":{"role":"assistant","content":"whole","reasoning_content":"why"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1}}`))
	})
	comp, d, err := stream(t, localClient(t, u), localReq("m"))
	mustNotFail(t, err)
	if d.content.String() != "whole" || d.reasoning.String() != "why" || comp.Model != "m2" || comp.Usage.PromptTokens != 5 {
		t.Errorf("content %q reasoning %q completion %+v", d.content.String(), d.reasoning.String(), comp)
	}
}

func TestStreamBadChunk(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		startSSE(w)
		send(w, contentEvent("a"), "data: {not json\n\n", contentEvent("b"))
	})
	_, d, err := stream(t, localClient(t, u), localReq("m"))
	wantCode(t, err, domain.ErrUnavailable, codeBadResponse)
	if d.content.String() != "a" {
		t.Errorf("content = %q", d.content.String())
	}
}

func TestStreamEventOverCap(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		startSSE(w)
		send(w, contentEvent("a"))
		bw := bufio.NewWriterSize(w, 1<<20)
		_, _ = bw.WriteString("data: ")
		chunk := strings.Repeat("y", 1<<20)
		for range maxEventBytes/len(chunk) + 2 {
			if _, err := bw.WriteString(chunk); err != nil {
				return // the client hung up, as it should
			}
		}
		_ = bw.Flush()
	})
	_, d, err := stream(t, localClient(t, u), localReq("m"))
	wantCode(t, err, domain.ErrUnavailable, codeBadResponse)
	if d.content.String() != "a" {
		t.Errorf("content = %q", d.content.String())
	}
}

func TestStreamOnDeltaErrorReturnedAsIs(t *testing.T) {
	gone := make(chan struct{})
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		startSSE(w)
		send(w, contentEvent("a"), contentEvent("b"))
		holdUntilGone(r)
		close(gone)
	})
	stop := fmt.Errorf("subscriber gone")
	n := 0
	_, err := localClient(t, u).Stream(t.Context(), localReq("m"), func(ports.Delta) error {
		n++
		return stop
	})
	if err != stop { //nolint:errorlint // the very same value is the contract
		t.Fatalf("err = %v, want the callback's own error", err)
	}
	if n != 1 {
		t.Errorf("onDelta called %d times after it failed", n)
	}
	<-gone
}
