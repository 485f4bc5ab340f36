package llm

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

func routerReq(model string) ports.CompletionRequest {
	return ports.CompletionRequest{
		Provider: domain.ProviderOpenRouter, Model: model,
		Messages: []ports.PromptMessage{{Role: domain.RoleUser, Content: "hi"}},
	}
}

func TestKeysGoToTheirOwnHostOnly(t *testing.T) {
	local := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) { replyOK(w, "l") })
	router := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) { replyOK(w, "r") })
	cfg := testConfig(local.base(), router.base())
	cfg.OpenRouter.Referer, cfg.OpenRouter.Title = "https://chat.example.com", "chatd"
	c := newTestClient(t, cfg)

	_, _, err := stream(t, c, routerReq("openai/gpt-4o"))
	mustNotFail(t, err)
	_, _, err = stream(t, c, localReq("llama3.2"))
	mustNotFail(t, err)

	h := router.requests()[0].header
	if h.Get("Authorization") != "Bearer "+testKey || h.Get("HTTP-Referer") != "https://chat.example.com" || h.Get("X-Title") != "chatd" {
		t.Errorf("OpenRouter headers = %v", h)
	}
	h = local.requests()[0].header
	for _, k := range []string{"Authorization", "HTTP-Referer", "X-Title"} {
		if v := h.Get(k); v != "" {
			t.Errorf("LOCAL got %s: %q", k, v)
		}
	}
}

func TestLocalSendsItsOwnKeyOnly(t *testing.T) {
	local := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) { replyOK(w, "l") })
	cfg := testConfig(local.base(), "http://127.0.0.1:1/v1")
	cfg.Local.APIKey = "local-key"
	_, _, err := stream(t, newTestClient(t, cfg), localReq("m"))
	mustNotFail(t, err)
	if got := local.requests()[0].header.Get("Authorization"); got != "Bearer local-key" {
		t.Errorf("LOCAL Authorization = %q", got)
	}
}

func TestOpenRouterWithoutKey(t *testing.T) {
	router := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":[{"id":"openai/gpt-4o","name":"GPT-4o","context_length":128000}]}`))
	})
	cfg := testConfig("http://127.0.0.1:1/v1", router.base())
	cfg.OpenRouter.APIKey = ""
	c := newTestClient(t, cfg)

	_, _, err := stream(t, c, routerReq("openai/gpt-4o"))
	de := wantCode(t, err, domain.ErrUnavailable, codeNotConfigured)
	if de.Detail != "OpenRouter is not configured on this server (no API key)" {
		t.Errorf("detail = %q", de.Detail)
	}
	_, err = c.Complete(t.Context(), routerReq("openai/gpt-4o"))
	wantCode(t, err, domain.ErrUnavailable, codeNotConfigured)
	if router.count() != 0 {
		t.Fatalf("%d requests went out without a key", router.count())
	}

	// Listing models needs no key.
	models, err := c.Models(t.Context(), domain.ProviderOpenRouter)
	mustNotFail(t, err)
	if len(models) != 1 || router.requests()[0].header.Get("Authorization") != "" {
		t.Errorf("models %v, headers %v", models, router.requests()[0].header)
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	target := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) { replyOK(w, "stolen") })
	router := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		http.Redirect(w, r, target.srv.URL+r.URL.Path, http.StatusMovedPermanently)
	})
	c := newTestClient(t, testConfig("http://127.0.0.1:1/v1", router.base()))
	_, _, err := stream(t, c, routerReq("m"))
	de := wantCode(t, err, domain.ErrUnavailable, codeProviderError)
	wantDetail(t, de, "redirect (HTTP 301)")
	_, err = c.Complete(t.Context(), routerReq("m"))
	wantCode(t, err, domain.ErrUnavailable, codeProviderError)
	if target.count() != 0 {
		t.Fatalf("the redirect target got %d requests", target.count())
	}
	if router.count() != 2 {
		t.Errorf("%d requests; a redirect is not retried", router.count())
	}
}

// TestNothingSecretLogged runs failing, retried and successful replies and
// checks every log line for the key and the conversation.
func TestNothingSecretLogged(t *testing.T) {
	router := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		switch n {
		case 0:
			writeError(w, http.StatusServiceUnavailable, `{"error":{"message":"echo: `+testKey+` secret prompt"}}`)
		case 1:
			writeError(w, http.StatusBadRequest, `{"error":{"message":"key `+testKey+` and secret prompt"}}`)
		default:
			replyOK(w, "secret answer")
		}
	})
	core, logs := observer.New(zapcore.DebugLevel)
	c, err := NewClient(testConfig("http://127.0.0.1:1/v1", router.base()), zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := routerReq("m")
	req.Messages[0].Content = "secret prompt"
	_, _, err = stream(t, c, req)
	de := wantCode(t, err, domain.ErrInvalid, codeRejected)
	if strings.Contains(de.Error(), testKey) {
		t.Errorf("error carries the key: %q", de.Error())
	}
	_, _, err = stream(t, c, req)
	mustNotFail(t, err)
	if logs.Len() == 0 {
		t.Fatal("no log line: the retry should have been logged")
	}
	for _, e := range logs.All() {
		line := fmt.Sprint(e.Message, e.ContextMap())
		for _, secret := range []string{testKey, "secret prompt", "secret answer"} {
			if strings.Contains(line, secret) {
				t.Errorf("log line %q contains %q", line, secret)
			}
		}
	}
	if s := fmt.Sprint(c.cfg) + fmt.Sprintf("%#v %+v", c.cfg, c.cfg.OpenRouter); strings.Contains(s, testKey) {
		t.Errorf("config prints the key: %s", s)
	}
}
