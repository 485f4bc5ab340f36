package llm

import (
	"net/http"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/domain"
)

func writeAnswer(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(body))
}

func TestComplete(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		writeAnswer(w, `{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"A short title","reasoning":"hmm"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":3}}`)
	})
	text, err := localClient(t, u).Complete(t.Context(), localReq("m"))
	mustNotFail(t, err)
	if text != "A short title" {
		t.Errorf("text = %q", text)
	}
	r := u.requests()[0]
	if r.body["stream"] != false || r.body["stream_options"] != nil || r.header.Get("Accept") != "application/json" {
		t.Errorf("request body %v headers %v", r.body, r.header)
	}
}

func TestCompleteRetriesAndFallsBack(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		switch n {
		case 0, 1, 2:
			writeError(w, http.StatusBadGateway, `{}`)
		default:
			writeAnswer(w, `{"choices":[{"message":{"content":"ok"}}]}`)
		}
	})
	req := localReq("a")
	req.FallbackModels = []string{"b"}
	text, err := localClient(t, u).Complete(t.Context(), req)
	mustNotFail(t, err)
	if text != "ok" || u.count() != 4 || u.requests()[3].body["model"] != "b" {
		t.Errorf("text %q after %d requests", text, u.count())
	}
}

func TestCompleteErrors(t *testing.T) {
	cases := []struct {
		name   string
		script func(w http.ResponseWriter)
		kind   domain.ErrorKind
		code   string
	}{
		{"error in a 200", func(w http.ResponseWriter) {
			writeAnswer(w, `{"error":{"code":400,"message":"bad"}}`)
		}, domain.ErrUnavailable, codeProviderError},
		{"vLLM error", func(w http.ResponseWriter) {
			writeAnswer(w, `{"object":"error","message":"bad","code":400}`)
		}, domain.ErrUnavailable, codeProviderError},
		{"finish_reason error", func(w http.ResponseWriter) {
			writeAnswer(w, `{"choices":[{"message":{"content":"x"},"finish_reason":"error"}]}`)
		}, domain.ErrUnavailable, codeProviderError},
		{"no choices", func(w http.ResponseWriter) { writeAnswer(w, `{"choices":[]}`) }, domain.ErrUnavailable, codeBadResponse},
		{"not JSON", func(w http.ResponseWriter) { writeAnswer(w, `<html>`) }, domain.ErrUnavailable, codeBadResponse},
		{"404", func(w http.ResponseWriter) { writeError(w, 404, `{}`) }, domain.ErrInvalid, codeModelNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) { tc.script(w) })
			_, err := localClient(t, u).Complete(t.Context(), localReq("m"))
			wantCode(t, err, tc.kind, tc.code)
		})
	}
}

func TestCompleteTimeout(t *testing.T) {
	u := newUpstream(t, func(_ http.ResponseWriter, r *http.Request, _ int) { holdUntilGone(r) })
	c := localClient(t, u, fastTimeouts(50*time.Millisecond, time.Second, 100*time.Millisecond))
	start := time.Now()
	_, err := c.Complete(t.Context(), localReq("m"))
	de := wantCode(t, err, domain.ErrUnavailable, codeTimeout)
	if de.Detail != "the model did not answer within 150ms" {
		t.Errorf("detail = %q", de.Detail)
	}
	if el := time.Since(start); el > 700*time.Millisecond {
		t.Errorf("took %s", el)
	}
}

func TestCompleteUnreachable(t *testing.T) {
	base := unreachable(t)
	_, err := newTestClient(t, testConfig(base, base)).Complete(t.Context(), localReq("m"))
	wantCode(t, err, domain.ErrUnavailable, codeUnreachable)
}
