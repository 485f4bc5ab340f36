package llm

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/ports"
)

// Ollama's OpenAI layer lists models without their context length; its
// native API tells it per model: POST {root}/api/show {"model": name}
// answers {"model_info": {"general.architecture": "llama",
// "llama.context_length": 131072, ...}, "parameters": "num_ctx 8192\n...", ...}.
const (
	// ollamaShowBudget bounds all the /api/show requests of one listing
	// together: a context length is a nicety, never a reason for a slow list.
	ollamaShowBudget = 3 * time.Second
	// ollamaShowConcurrency is how many models are asked about at once, so a
	// server with dozens of models is not hit with dozens of requests.
	ollamaShowConcurrency = 4
	// maxShowBytes caps an /api/show answer: without "verbose" it holds no
	// tokenizer tables, a few KiB (the license text is the largest part).
	maxShowBytes = 1 << 20
)

// errNotOllama is an /api/show answer that says the server has no such API
// (404, 405, or something that is not JSON): asking about the other models
// would get the same answer.
var errNotOllama = errors.New("the server does not answer Ollama's /api/show")

type wireShow struct {
	ModelInfo  map[string]json.RawMessage `json:"model_info"`
	Parameters string                     `json:"parameters"`
}

// addOllamaContextLengths fills, in place, the context length of the models
// the listing gave none, by asking the server's Ollama API. It asks about
// one model first, so a server that is not Ollama gets exactly one request;
// then about the others a few at a time. Any failure leaves a length unset.
func (c *Client) addOllamaContextLengths(ctx context.Context, p *provider, models []ports.ModelInfo) {
	root, ok := ollamaRoot(p.base)
	if !ok {
		return
	}
	var missing []int
	for i, m := range models {
		if m.ContextLength == nil {
			missing = append(missing, i)
		}
	}
	if len(missing) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, min(c.cfg.IdleTimeout, ollamaShowBudget))
	defer cancel()
	// The same provider at its root: newRequest stays the one place that
	// sets the key, and the host is the configured one.
	at := *p
	at.base = root

	if err := c.addOllamaContextLength(ctx, &at, &models[missing[0]]); errors.Is(err, errNotOllama) {
		c.log.Debug("the LOCAL server has no Ollama API: no context lengths", zap.String("host", p.host))
		return
	}
	var wg sync.WaitGroup
	slots := make(chan struct{}, ollamaShowConcurrency)
	for _, i := range missing[1:] {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			_ = c.addOllamaContextLength(ctx, &at, &models[i])
		})
	}
	wg.Wait()
}

// addOllamaContextLength asks about one model and sets its length when the
// answer has one.
func (c *Client) addOllamaContextLength(ctx context.Context, at *provider, m *ports.ModelInfo) error {
	n, err := c.ollamaContextLength(ctx, at, m.ID)
	if err != nil {
		c.log.Debug("no context length from /api/show", zap.String("model", m.ID), zap.Error(err))
		return err
	}
	if n > 0 {
		m.ContextLength = &n
	}
	return nil
}

func (c *Client) ollamaContextLength(ctx context.Context, at *provider, model string) (int, error) {
	body, err := json.Marshal(map[string]string{"model": model})
	if err != nil {
		return 0, fmt.Errorf("encode show request: %w", err)
	}
	req, err := newRequest(ctx, at, http.MethodPost, "/api/show", body, acceptJSON)
	if err != nil {
		return 0, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, unwrapURLError(err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed:
		return 0, fmt.Errorf("%w (HTTP %d)", errNotOllama, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return 0, fmt.Errorf("show %s: HTTP %d", model, resp.StatusCode)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxShowBytes+1))
	if err != nil {
		return 0, fmt.Errorf("read show answer: %w", err)
	}
	if len(raw) > maxShowBytes {
		return 0, fmt.Errorf("show %s: answer larger than %d bytes", model, maxShowBytes)
	}
	var show wireShow
	if err := json.Unmarshal(raw, &show); err != nil {
		return 0, fmt.Errorf("%w: %w", errNotOllama, err)
	}
	return show.contextLength(), nil
}

// ollamaRoot is the server root of an OpenAI-compatible base URL: Ollama
// serves that layer under /v1 and its own API beside it. A base without /v1
// cannot be Ollama's.
func ollamaRoot(base string) (string, bool) {
	return strings.CutSuffix(base, "/v1")
}

// contextLength is the longest context the server runs the model with: the
// length the model was trained for, or the Modelfile's num_ctx when that is
// set and smaller (Ollama cuts prompts at num_ctx). 0 when neither is known.
func (s wireShow) contextLength() int {
	trained, configured := s.trainedLength(), numCtx(s.Parameters)
	switch {
	case trained > 0 && configured > 0:
		return min(trained, configured)
	case trained > 0:
		return trained
	}
	return configured
}

// trainedLength reads "<architecture>.context_length" from model_info. When
// general.architecture does not name the key, the one top-level
// "<name>.context_length" key stands in (sorted, so the choice is stable).
func (s wireShow) trainedLength() int {
	var arch string
	if raw, ok := s.ModelInfo["general.architecture"]; ok && json.Unmarshal(raw, &arch) == nil && arch != "" {
		if n := positiveInt(s.ModelInfo[arch+".context_length"]); n > 0 {
			return n
		}
	}
	keys := make([]string, 0, len(s.ModelInfo))
	for k := range s.ModelInfo {
		if name, ok := strings.CutSuffix(k, ".context_length"); ok && name != "" && !strings.Contains(name, ".") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if n := positiveInt(s.ModelInfo[k]); n > 0 {
			return n
		}
	}
	return 0
}

// numCtx finds num_ctx in Ollama's parameters text, one "name value" pair
// per line.
func numCtx(parameters string) int {
	lines := bufio.NewScanner(strings.NewReader(parameters))
	for lines.Scan() {
		f := strings.Fields(lines.Text())
		if len(f) == 2 && f[0] == "num_ctx" {
			if n, err := strconv.Atoi(f[1]); err == nil && n > 0 && n <= math.MaxInt32 {
				return n
			}
		}
	}
	return 0
}

// positiveInt is a JSON number that is a whole, positive int32, or 0.
func positiveInt(raw json.RawMessage) int {
	var f float64
	if raw == nil || json.Unmarshal(raw, &f) != nil || f < 1 || f > math.MaxInt32 || f != math.Trunc(f) {
		return 0
	}
	return int(f)
}
