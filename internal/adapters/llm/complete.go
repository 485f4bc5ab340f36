package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// wireAnswer is a non-streamed chat.completion.
type wireAnswer struct {
	Object  json.RawMessage `json:"object"`
	Model   string          `json:"model"`
	Choices []struct {
		Message      chunkDelta `json:"message"`
		FinishReason string     `json:"finish_reason"`
	} `json:"choices"`
	Usage *wireUsage      `json:"usage"`
	Error json.RawMessage `json:"error"`
}

// answer is a non-streamed reply, read.
type answer struct {
	content, reasoning string
	finish, model      string
	usage              *ports.Usage
}

// Complete implements ports.ChatModel: one request with "stream": false,
// bounded as a whole by the provider's first-token timeout plus the total
// timeout, with the same errors, retries and fallbacks as Stream.
func (c *Client) Complete(ctx context.Context, req ports.CompletionRequest) (string, error) {
	p, err := c.usable(req.Provider)
	if err != nil {
		return "", err
	}
	chain := modelChain(req)
	if len(chain) == 0 {
		return "", domain.InvalidField("llm_model", "must not be empty")
	}
	var fallbacks []string
	if p.routesFallbacks {
		chain, fallbacks = chain[:1], chain[1:]
	}
	limit := p.firstToken + c.cfg.TotalTimeout
	bounded, cancel := context.WithTimeoutCause(ctx, limit, &timeoutError{kind: timeoutAnswer, after: limit})
	defer cancel()

	var text string
	err = c.run(ctx, bounded, p, chain, func() bool { return false }, func(model string) *attemptError {
		body, err := encodeRequest(req, model, fallbacks, false)
		if err != nil {
			return final(err)
		}
		ans, ae := c.completeOnce(ctx, bounded, p, model, body)
		text = ans.content
		return ae
	})
	if err != nil {
		return "", err
	}
	return text, nil
}

func (c *Client) completeOnce(caller, ctx context.Context, p *provider, model string, body []byte) (answer, *attemptError) {
	req, err := newRequest(ctx, p, http.MethodPost, "/chat/completions", body, acceptJSON)
	if err != nil {
		return answer{}, final(err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ae := interrupted(caller, ctx); ae != nil {
			return answer{}, ae
		}
		return answer{}, &attemptError{err: transportFailure(p, err), retry: true}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return answer{}, statusAttempt(p, model, resp)
	}
	return readAnswer(caller, ctx, p, resp.Body)
}

// readAnswer reads a whole chat.completion, bounded in size, and fails the
// way a stream would for an error inside it.
func readAnswer(caller, ctx context.Context, p *provider, body io.Reader) (answer, *attemptError) {
	raw, err := io.ReadAll(io.LimitReader(body, maxEventBytes+1))
	if err != nil {
		if ae := interrupted(caller, ctx); ae != nil {
			return answer{}, ae
		}
		return answer{}, &attemptError{err: brokenStream(p, err), retry: true, nextModel: true}
	}
	if len(raw) > maxEventBytes {
		return answer{}, &attemptError{err: badResponse(p, errEventTooLarge), nextModel: true}
	}
	var w wireAnswer
	if err := json.Unmarshal(raw, &w); err != nil {
		return answer{}, &attemptError{err: badResponse(p, err), nextModel: true}
	}
	if isSet(w.Error) || bytes.Equal(w.Object, objectError) {
		ue := readUpstreamError(raw)
		return answer{}, &attemptError{err: streamFailure(p, ue), nextModel: true,
			retry: ue.status == http.StatusTooManyRequests || retryableStatus(ue.status)}
	}
	if len(w.Choices) == 0 {
		return answer{}, &attemptError{err: badResponse(p, errors.New("no choices")), nextModel: true}
	}
	ch := w.Choices[0]
	if ch.FinishReason == "error" {
		return answer{}, &attemptError{err: streamFailure(p, &upstreamError{}), nextModel: true}
	}
	ans := answer{content: ch.Message.Content, reasoning: ch.Message.Reasoning, finish: ch.FinishReason, model: w.Model}
	if ans.reasoning == "" {
		ans.reasoning = ch.Message.ReasoningContent
	}
	if ans.finish == "" {
		// A whole answer is finished by construction; some servers just do
		// not say so.
		ans.finish = "stop"
	}
	if w.Usage != nil {
		ans.usage = &ports.Usage{
			PromptTokens:     w.Usage.PromptTokens,
			CompletionTokens: w.Usage.CompletionTokens,
			CostUSD:          parseCost(w.Usage.Cost),
		}
	}
	return ans, nil
}
