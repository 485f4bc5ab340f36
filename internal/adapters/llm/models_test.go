package llm

import (
	"net/http"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/domain"
)

const ollamaModels = `{"object":"list","data":[{"id":"llama3.2:latest","object":"model","created":1700000000,"owned_by":"library"},{"id":"qwen3:8b","object":"model","created":1700000000,"owned_by":"library"}]}`

const openRouterModels = `{"data":[{"id":"openai/gpt-4o","name":"OpenAI: GPT-4o","context_length":128000,"pricing":{"prompt":"0.0000025","completion":"0.00001"}},{"id":"meta/x","name":"X","context_length":null},{"id":""}]}`

func TestModelsParse(t *testing.T) {
	local := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) { writeAnswer(w, ollamaModels) })
	router := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) { writeAnswer(w, openRouterModels) })
	c := newTestClient(t, testConfig(local.base(), router.base()))

	lm, err := c.Models(t.Context(), domain.ProviderLocal)
	mustNotFail(t, err)
	if len(lm) != 2 || lm[0].ID != "llama3.2:latest" || lm[0].Name != "llama3.2:latest" || lm[0].ContextLength != nil {
		t.Errorf("LOCAL models = %+v", lm)
	}
	if r := local.requests()[0]; r.method != http.MethodGet || r.path != "/v1/models" || r.header.Get("Authorization") != "" {
		t.Errorf("LOCAL request = %+v", r)
	}

	om, err := c.Models(t.Context(), domain.ProviderOpenRouter)
	mustNotFail(t, err)
	if len(om) != 2 || om[0].Name != "OpenAI: GPT-4o" || om[0].ContextLength == nil || *om[0].ContextLength != 128000 ||
		om[1].ContextLength != nil {
		t.Errorf("OpenRouter models = %+v", om)
	}
	if got := router.requests()[0].header.Get("Authorization"); got != "Bearer "+testKey {
		t.Errorf("OpenRouter models Authorization = %q", got)
	}
}

func TestModelsCached(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) { writeAnswer(w, ollamaModels) })
	c := localClient(t, u, func(c *Config) { c.ModelsCacheTTL = 150 * time.Millisecond })
	first, err := c.Models(t.Context(), domain.ProviderLocal)
	mustNotFail(t, err)
	first[0].ID = "changed by the caller"
	again, err := c.Models(t.Context(), domain.ProviderLocal)
	mustNotFail(t, err)
	if n := pathCount(u, "/v1/models"); n != 1 || again[0].ID != "llama3.2:latest" {
		t.Errorf("%d listings, cached %+v", n, again)
	}
	time.Sleep(200 * time.Millisecond)
	_, err = c.Models(t.Context(), domain.ProviderLocal)
	mustNotFail(t, err)
	if n := pathCount(u, "/v1/models"); n != 2 {
		t.Errorf("%d listings; the cache did not expire", n)
	}
}

func TestModelsFailureNotCached(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		if n == 0 {
			writeError(w, http.StatusInternalServerError, `{}`)
			return
		}
		writeAnswer(w, ollamaModels)
	})
	c := localClient(t, u)
	_, err := c.Models(t.Context(), domain.ProviderLocal)
	de := wantCode(t, err, domain.ErrUnavailable, codeProviderError)
	wantDetail(t, de, "could not list its models (HTTP 500)")
	models, err := c.Models(t.Context(), domain.ProviderLocal)
	mustNotFail(t, err)
	if len(models) != 2 {
		t.Errorf("models = %+v", models)
	}
}

func TestModelsErrors(t *testing.T) {
	base := unreachable(t)
	c := newTestClient(t, testConfig(base, base))
	_, err := c.Models(t.Context(), domain.ProviderLocal)
	wantCode(t, err, domain.ErrUnavailable, codeUnreachable)

	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) { writeAnswer(w, `[1,2]`) })
	_, err = localClient(t, u).Models(t.Context(), domain.ProviderLocal)
	wantCode(t, err, domain.ErrUnavailable, codeBadResponse)

	u = newUpstream(t, func(_ http.ResponseWriter, r *http.Request, _ int) { holdUntilGone(r) })
	_, err = localClient(t, u, func(c *Config) { c.IdleTimeout = 80 * time.Millisecond }).Models(t.Context(), domain.ProviderLocal)
	de := wantCode(t, err, domain.ErrUnavailable, codeTimeout)
	wantDetail(t, de, "did not list its models within 80ms")

	_, err = c.Models(t.Context(), domain.Provider("OTHER"))
	wantCode(t, err, domain.ErrInvalid, "unknown-provider")
}

// pathCount is how many requests the upstream received on path.
func pathCount(u *upstream, path string) int {
	n := 0
	for _, r := range u.requests() {
		if r.path == path {
			n++
		}
	}
	return n
}
