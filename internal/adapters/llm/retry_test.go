package llm

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

func writeError(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func TestStream500IsRetriedThenFails(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		writeError(w, http.StatusInternalServerError, `{"error":{"message":"CUDA out of memory at 0x7f..","type":"server_error"}}`)
	})
	_, d, err := stream(t, localClient(t, u), localReq("m"))
	de := wantCode(t, err, domain.ErrUnavailable, codeProviderError)
	wantDetail(t, de, "HTTP 500")
	if strings.Contains(de.Error(), "CUDA") {
		t.Errorf("upstream body leaked into %q", de.Error())
	}
	if u.count() != 1+DefaultMaxRetries || d.n != 0 {
		t.Errorf("%d requests, %d deltas; want %d requests", u.count(), d.n, 1+DefaultMaxRetries)
	}
}

func TestStream503TwiceThenSuccess(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		if n < 2 {
			writeError(w, http.StatusServiceUnavailable, `{"error":{"message":"loading"}}`)
			return
		}
		replyOK(w, "at last")
	})
	comp, d, err := stream(t, localClient(t, u), localReq("m"))
	mustNotFail(t, err)
	if d.content.String() != "at last" || comp.FinishReason != "stop" || u.count() != 3 {
		t.Errorf("content %q finish %q after %d requests", d.content.String(), comp.FinishReason, u.count())
	}
}

func TestStreamMaxRetriesConfigurable(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		writeError(w, http.StatusBadGateway, `{}`)
	})
	_, _, err := stream(t, localClient(t, u, func(c *Config) { c.MaxRetries = -1 }), localReq("m"))
	wantCode(t, err, domain.ErrUnavailable, codeProviderError)
	if u.count() != 1 {
		t.Errorf("%d requests with retries off", u.count())
	}
}

func TestStream429RetryAfterHonoured(t *testing.T) {
	var first time.Time
	var waited time.Duration
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		if n == 0 {
			first = time.Now()
			w.Header().Set("Retry-After", "0.3")
			writeError(w, http.StatusTooManyRequests, `{"error":{"message":"slow down"}}`)
			return
		}
		waited = time.Since(first)
		replyOK(w, "ok")
	})
	_, _, err := stream(t, localClient(t, u), localReq("m"))
	mustNotFail(t, err)
	if waited < 280*time.Millisecond || waited > 900*time.Millisecond {
		t.Errorf("retried after %s, want about 300ms", waited)
	}
}

// TestStream429RetryAfterSeconds checks whole seconds and the date form
// without spending them: the client's sleep is replaced by a recorder.
func TestStream429RetryAfterSeconds(t *testing.T) {
	for _, header := range []string{"2", "date"} {
		t.Run(header, func(t *testing.T) {
			u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, n int) {
				if n == 0 {
					v := header
					if v == "date" {
						v = time.Now().Add(5 * time.Second).UTC().Format(http.TimeFormat)
					}
					w.Header().Set("Retry-After", v)
					writeError(w, http.StatusTooManyRequests, `{}`)
					return
				}
				replyOK(w, "ok")
			})
			c := localClient(t, u)
			var slept []time.Duration
			c.sleep = func(_ context.Context, d time.Duration) bool { slept = append(slept, d); return true }
			_, _, err := stream(t, c, localReq("m"))
			mustNotFail(t, err)
			lo, hi := 2*time.Second, 2*time.Second
			if header == "date" {
				lo, hi = 3*time.Second, 5*time.Second
			}
			if len(slept) != 1 || slept[0] < lo || slept[0] > hi {
				t.Errorf("waits = %v, want one in [%s, %s]", slept, lo, hi)
			}
		})
	}
}

func TestStream429LongRetryAfterFailsRateLimited(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Retry-After", "60")
		writeError(w, http.StatusTooManyRequests, `{"error":{"message":"quota"}}`)
	})
	_, _, err := stream(t, localClient(t, u), localReq("m"))
	de := wantCode(t, err, domain.ErrRateLimited, codeRateLimited)
	if de.RetryAfter != time.Minute {
		t.Errorf("RetryAfter = %s", de.RetryAfter)
	}
	wantDetail(t, de, "try again in 1m")
	if u.count() != 1 {
		t.Errorf("%d requests; a long Retry-After is not waited for", u.count())
	}
}

func TestStream429WithoutRetryAfterBacksOff(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		writeError(w, http.StatusTooManyRequests, `{}`)
	})
	c := localClient(t, u, func(c *Config) { c.RetryBaseDelay = 40 * time.Millisecond })
	var slept []time.Duration
	c.sleep = func(_ context.Context, d time.Duration) bool { slept = append(slept, d); return true }
	_, _, err := stream(t, c, localReq("m"))
	wantCode(t, err, domain.ErrRateLimited, codeRateLimited)
	// Equal jitter: retry k waits in [base·2^k / 2, base·2^k].
	if len(slept) != 2 || slept[0] < 20*time.Millisecond || slept[0] > 40*time.Millisecond ||
		slept[1] < 40*time.Millisecond || slept[1] > 80*time.Millisecond {
		t.Errorf("waits = %v", slept)
	}
}

func TestStreamClientErrorsNotRetried(t *testing.T) {
	long := strings.Repeat("context length exceeded ", 40)
	cases := []struct {
		status int
		body   string
		kind   domain.ErrorKind
		code   string
		detail []string
	}{
		{400, `{"error":{"message":"` + long + `","type":"invalid_request_error"}}`, domain.ErrInvalid, codeRejected,
			[]string{"rejected the request: context length exceeded", "…"}},
		{422, `{"object":"error","message":"temperature\nmust be <= 2","code":422}`, domain.ErrInvalid, codeRejected,
			[]string{"rejected the request: temperature must be <= 2"}},
		{400, `<html>stack trace with secrets</html>`, domain.ErrInvalid, codeRejected, []string{"rejected the request (HTTP 400)"}},
		{401, `{"error":{"message":"bad key ` + testKey + `"}}`, domain.ErrUnavailable, codeAuthFailed, []string{"refused our credentials (HTTP 401)"}},
		{403, `{}`, domain.ErrUnavailable, codeAuthFailed, []string{"refused our credentials"}},
		{404, `{"error":{"message":"model 'nope' not found"}}`, domain.ErrInvalid, codeModelNotFound, []string{`"nope"`}},
		{402, `{"error":{"message":"Insufficient credits"}}`, domain.ErrUnavailable, codeNoCredits, []string{"out of credits"}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) { writeError(w, tc.status, tc.body) })
			_, _, err := stream(t, localClient(t, u), localReq("nope"))
			de := wantCode(t, err, tc.kind, tc.code)
			wantDetail(t, de, tc.detail...)
			if n := len([]rune(de.Detail)); n > 300 {
				t.Errorf("detail of %d runes", n)
			}
			for _, bad := range []string{"<html>", testKey, "\n"} {
				if strings.Contains(de.Error(), bad) {
					t.Errorf("error %q contains %q", de.Error(), bad)
				}
			}
			if u.count() != 1 {
				t.Errorf("%d requests; HTTP %d is not retried", u.count(), tc.status)
			}
		})
	}
}

func TestStreamConnectionRefused(t *testing.T) {
	base := unreachable(t)
	c := newTestClient(t, testConfig(base, base))
	_, _, err := stream(t, c, localReq("m"))
	de := wantCode(t, err, domain.ErrUnavailable, codeUnreachable)
	host := strings.TrimSuffix(strings.TrimPrefix(base, "http://"), "/v1")
	if de.Detail != "could not reach the LOCAL model server at "+host {
		t.Errorf("detail = %q", de.Detail)
	}
}

func TestStreamConnectionErrorsRetried(t *testing.T) {
	base := unreachable(t)
	c := newTestClient(t, testConfig(base, base))
	var slept int
	c.sleep = func(context.Context, time.Duration) bool { slept++; return true }
	_, _, _ = stream(t, c, localReq("m"))
	if slept != DefaultMaxRetries {
		t.Errorf("%d retries of a refused connection, want %d", slept, DefaultMaxRetries)
	}
}

func TestStreamNoRetryAfterFirstToken(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		startSSE(w)
		send(w, contentEvent("started"))
		panic(http.ErrAbortHandler)
	})
	req := localReq("primary")
	req.FallbackModels = []string{"fallback"}
	_, d, err := stream(t, localClient(t, u), req)
	wantCode(t, err, domain.ErrUnavailable, codeIncomplete)
	if u.count() != 1 || d.content.String() != "started" {
		t.Errorf("%d requests, content %q: a started reply is never retried nor handed to a fallback", u.count(), d.content.String())
	}
}

func TestStreamLocalFallbackModels(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch n {
		case 0:
			writeError(w, http.StatusNotFound, `{"error":{"message":"model not found"}}`)
		case 1, 2, 3:
			writeError(w, http.StatusServiceUnavailable, `{}`)
		default:
			startSSE(w)
			send(w, `data: {"choices":[{"delta":{"content":"from fallback"},"finish_reason":"stop"}]}`+"\n\n", doneEvent)
		}
	})
	req := localReq("missing")
	req.FallbackModels = []string{"busy", "missing", "", "works"}
	comp, d, err := stream(t, localClient(t, u), req)
	mustNotFail(t, err)
	var models []string
	for _, r := range u.requests() {
		models = append(models, fmt.Sprint(r.body["model"]))
		if _, ok := r.body["models"]; ok {
			t.Error("LOCAL got a models field")
		}
	}
	// missing once (404: next model), busy 1+2 times (503: retried), works.
	if got := strings.Join(models, ","); got != "missing,busy,busy,busy,works" {
		t.Errorf("models tried = %s", got)
	}
	if comp.Model != "works" || d.content.String() != "from fallback" {
		t.Errorf("completion %+v, content %q", comp, d.content.String())
	}
}

func TestStreamAuthFailureDoesNotTryFallbacks(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) { writeError(w, http.StatusUnauthorized, `{}`) })
	req := localReq("a")
	req.FallbackModels = []string{"b"}
	_, _, err := stream(t, localClient(t, u), req)
	wantCode(t, err, domain.ErrUnavailable, codeAuthFailed)
	if u.count() != 1 {
		t.Errorf("%d requests", u.count())
	}
}

func TestStreamOpenRouterSendsModels(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		startSSE(w)
		send(w, `data: {"model":"anthropic/claude-3.5-haiku","choices":[{"delta":{"content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"cost":"0.00001"}}`+"\n\n", doneEvent)
	})
	c := newTestClient(t, testConfig("http://127.0.0.1:1/v1", u.base()))
	req := ports.CompletionRequest{
		Provider: domain.ProviderOpenRouter, Model: "openai/gpt-4o",
		FallbackModels: []string{"anthropic/claude-3.5-haiku", "openai/gpt-4o", "meta/llama"},
		Messages:       []ports.PromptMessage{{Role: domain.RoleUser, Content: "hi"}},
	}
	comp, _, err := stream(t, c, req)
	mustNotFail(t, err)
	reqs := u.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests; OpenRouter routes fallbacks itself", len(reqs))
	}
	if got := fmt.Sprint(reqs[0].body["models"]); got != "[openai/gpt-4o anthropic/claude-3.5-haiku meta/llama]" {
		t.Errorf("models = %s", got)
	}
	if reqs[0].body["model"] != "openai/gpt-4o" {
		t.Errorf("model = %v", reqs[0].body["model"])
	}
	if comp.Model != "anthropic/claude-3.5-haiku" || comp.Usage.CostUSD == nil || *comp.Usage.CostUSD != 0.00001 {
		t.Errorf("completion = %+v", comp)
	}
}

func TestStreamTotalTimeoutBoundsRetries(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, `{}`)
	})
	c := localClient(t, u, func(c *Config) { c.TotalTimeout = 150 * time.Millisecond })
	start := time.Now()
	_, _, err := stream(t, c, localReq("m"))
	de := wantCode(t, err, domain.ErrUnavailable, codeTimeout)
	wantDetail(t, de, "the reply took longer than 150ms")
	if el := time.Since(start); el > time.Second {
		t.Errorf("took %s", el)
	}
}

// TestStreamConcurrent runs replies side by side through one client.
func TestStreamConcurrent(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		replyOK(w, fmt.Sprint(r.ContentLength), " done")
	})
	c := localClient(t, u)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := c.Stream(t.Context(), localReq("m"), func(ports.Delta) error { return nil })
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		mustNotFail(t, err)
	}
}

func TestSummarize(t *testing.T) {
	for in, want := range map[string]string{
		"  plain  ":                             "plain",
		"two\n\tlines\r\n":                      "two lines",
		"bidi \u202eevil\u202c zero\u200bwidth": "bidi evil zerowidth",
		"bad \xff utf8":                         "bad utf8",
		"key " + testKey + " echoed":            "key [REDACTED] echoed",
		strings.Repeat("é", 250):                strings.Repeat("é", 200) + "…",
	} {
		if got := summarize(in, testKey); got != want {
			t.Errorf("summarize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	for v, want := range map[string]time.Duration{
		"": -1, "3": 3 * time.Second, "0.25": 250 * time.Millisecond, "-1": -1, "NaN": -1, "soon": -1,
	} {
		h := http.Header{}
		if v != "" {
			h.Set("Retry-After", v)
		}
		got, ok := retryAfter(h)
		if (want < 0 && ok) || (want >= 0 && (!ok || got != want)) {
			t.Errorf("Retry-After %q = %s, %v", v, got, ok)
		}
	}
	h := http.Header{"Retry-After-Ms": {"150"}, "Retry-After": {"9"}}
	if got, _ := retryAfter(h); got != 150*time.Millisecond {
		t.Errorf("retry-after-ms ignored: %s", got)
	}
}
