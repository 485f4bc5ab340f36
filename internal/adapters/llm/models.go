package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// maxModelsBytes caps a models listing: OpenRouter's, with descriptions
// and pricing for hundreds of models, is a few MiB.
const maxModelsBytes = 32 << 20

// modelsCache keeps each provider's list for ModelsCacheTTL: the list
// changes rarely and a page that shows it should not cost a round trip to
// OpenRouter each time. Failures are not cached, so a server that comes up
// is seen at the next call. LOCAL lists are kept with the context lengths
// Ollama's /api/show gave them (or could not give them), so that API is
// asked once per model per period, and a server without it once per period.
type modelsCache struct {
	mu      sync.Mutex
	entries map[domain.Provider]modelsEntry
}

type modelsEntry struct {
	models  []ports.ModelInfo
	expires time.Time
}

type wireModels struct {
	Data []struct {
		ID            string   `json:"id"`
		Name          string   `json:"name"`
		ContextLength *float64 `json:"context_length"`
	} `json:"data"`
}

// Models implements ports.ChatModel. No key is needed: OpenRouter lists its
// models to anyone, and a configured key is sent only to its own host.
func (c *Client) Models(ctx context.Context, id domain.Provider) ([]ports.ModelInfo, error) {
	p, err := c.provider(id)
	if err != nil {
		return nil, err
	}
	if models, ok := c.models.get(id); ok {
		return models, nil
	}
	models, err := c.fetchModels(ctx, p)
	if err != nil {
		return nil, err
	}
	if id == domain.ProviderLocal {
		c.addOllamaContextLengths(ctx, p, models)
	}
	// A caller that left while lengths were being asked for may have cut
	// some short: that list is not kept.
	if c.cfg.ModelsCacheTTL > 0 && ctx.Err() == nil {
		c.models.put(id, models, time.Now().Add(c.cfg.ModelsCacheTTL))
	}
	return slices.Clone(models), nil
}

func (c *Client) fetchModels(caller context.Context, p *provider) ([]ports.ModelInfo, error) {
	// One small answer: if nothing comes for the idle timeout, nothing will.
	ctx, cancel := context.WithTimeoutCause(caller, c.cfg.IdleTimeout,
		&timeoutError{kind: timeoutModels, after: c.cfg.IdleTimeout})
	defer cancel()
	req, err := newRequest(ctx, p, http.MethodGet, "/models", nil, acceptJSON)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ae := interrupted(caller, ctx); ae != nil {
			return nil, ae.err
		}
		return nil, transportFailure(p, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, domain.Unavailable(codeProviderError,
			fmt.Sprintf("%s could not list its models (HTTP %d)", p.label, resp.StatusCode), nil)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxModelsBytes+1))
	if err != nil {
		if ae := interrupted(caller, ctx); ae != nil {
			return nil, ae.err
		}
		return nil, transportFailure(p, err)
	}
	var w wireModels
	if len(raw) > maxModelsBytes {
		return nil, badResponse(p, errEventTooLarge)
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, badResponse(p, err)
	}
	models := make([]ports.ModelInfo, 0, len(w.Data))
	for _, m := range w.Data {
		if m.ID == "" {
			continue
		}
		info := ports.ModelInfo{ID: m.ID, Name: m.Name}
		if info.Name == "" {
			info.Name = m.ID // Ollama and llama.cpp give no display name
		}
		if cl := m.ContextLength; cl != nil && *cl > 0 && *cl <= math.MaxInt32 {
			n := int(*cl)
			info.ContextLength = &n
		}
		models = append(models, info)
	}
	return models, nil
}

func (mc *modelsCache) get(id domain.Provider) ([]ports.ModelInfo, bool) {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	e, ok := mc.entries[id]
	if !ok || time.Now().After(e.expires) {
		return nil, false
	}
	// A copy: the caller may sort or trim its slice.
	return slices.Clone(e.models), true
}

func (mc *modelsCache) put(id domain.Provider, models []ports.ModelInfo, expires time.Time) {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	mc.entries[id] = modelsEntry{models: models, expires: expires}
}
