package llm

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

const (
	// drainWait and maxDrainBytes bound how long and how much we read after
	// [DONE] so that the connection can go back to the pool: the terminating
	// chunk usually follows at once; a server that keeps the stream open is
	// not worth waiting for.
	drainWait     = 100 * time.Millisecond
	maxDrainBytes = 64 << 10
)

var errDrained = errors.New("reply finished; connection drained")

// Stream implements ports.ChatModel. See the package comment and
// attemptError for the timeout, retry and fallback rules.
func (c *Client) Stream(ctx context.Context, req ports.CompletionRequest,
	onDelta func(ports.Delta) error) (completion ports.Completion, err error) {
	p, err := c.usable(req.Provider)
	if err != nil {
		return ports.Completion{}, err
	}
	chain := modelChain(req)
	if len(chain) == 0 {
		return ports.Completion{}, domain.InvalidField("llm_model", "must not be empty")
	}
	ctx, gen := startGeneration(ctx, p, req)
	defer func() { gen.end(completion, err) }()
	onDelta = gen.observe(onDelta)
	var fallbacks []string
	if p.routesFallbacks {
		chain, fallbacks = chain[:1], chain[1:]
	}
	bounded, cancel := context.WithTimeoutCause(ctx, c.cfg.TotalTimeout,
		&timeoutError{kind: timeoutTotal, after: c.cfg.TotalTimeout})
	defer cancel()

	var (
		delivered bool
		out       ports.Completion
		body      []byte
		bodyModel string
	)
	err = c.run(ctx, bounded, p, chain, func() bool { return delivered }, func(model string) *attemptError {
		if model != bodyModel {
			b, err := encodeRequest(req, model, fallbacks, true)
			if err != nil {
				return final(err)
			}
			body, bodyModel = b, model
		}
		res, ae := c.streamOnce(ctx, bounded, p, model, body, onDelta)
		delivered = delivered || res.delivered
		out = res.completion
		return ae
	})
	if err != nil {
		return ports.Completion{}, err
	}
	if out.Usage.Estimated {
		out.Usage.PromptTokens = estimateTokens(promptChars(req.Messages))
	}
	return out, nil
}

// streamResult is what one attempt produced.
type streamResult struct {
	completion ports.Completion
	delivered  bool
}

// streamOnce makes one streaming request for model. caller is the caller's
// context, ctx the one bounding the whole reply.
func (c *Client) streamOnce(caller, ctx context.Context, p *provider, model string, body []byte,
	onDelta func(ports.Delta) error) (streamResult, *attemptError) {
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	wd := startWatchdog(cancel, p.firstToken, c.cfg.IdleTimeout)
	defer wd.stop()

	req, err := newRequest(actx, p, http.MethodPost, "/chat/completions", body, acceptStream)
	if err != nil {
		return streamResult{}, final(err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ae := interrupted(caller, actx); ae != nil {
			return streamResult{}, ae
		}
		return streamResult{}, &attemptError{err: transportFailure(p, err), retry: true}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return streamResult{}, statusAttempt(p, model, resp)
	}
	if isJSON(resp.Header) {
		// A server that ignored "stream": true (or reports an error with
		// 200) answers with one JSON document.
		return c.streamFromAnswer(caller, actx, p, model, resp.Body, onDelta)
	}

	parser := newStreamParser(activityReader{r: resp.Body, w: wd}, maxEventBytes)
	parser.onFirst = wd.streaming
	err = parser.run(onDelta)
	res := streamResult{delivered: parser.delivered}
	if err == nil {
		wd.stop()
		drain(resp.Body, cancel)
		res.completion = ports.Completion{FinishReason: parser.finish, Model: parser.servedModel()}
		if res.completion.Model == "" {
			res.completion.Model = model
		}
		if parser.usage != nil {
			res.completion.Usage = *parser.usage
		} else {
			res.completion.Usage = ports.Usage{CompletionTokens: estimateTokens(parser.textChars), Estimated: true}
		}
		return res, nil
	}
	return res, c.streamAttemptError(caller, actx, p, err)
}

// streamAttemptError classifies how a stream that had begun failed.
func (c *Client) streamAttemptError(caller, actx context.Context, p *provider, err error) *attemptError {
	var de *deltaError
	if errors.As(err, &de) {
		return final(de.err)
	}
	if ae := interrupted(caller, actx); ae != nil {
		return ae
	}
	var ue *upstreamError
	var bc *badChunkError
	switch {
	case errors.As(err, &ue):
		return &attemptError{err: streamFailure(p, ue), nextModel: true,
			retry: ue.status == http.StatusTooManyRequests || retryableStatus(ue.status)}
	case errors.Is(err, errIncomplete):
		return &attemptError{err: incompleteStream(), nextModel: true}
	case errors.As(err, &bc), errors.Is(err, errEventTooLarge):
		return &attemptError{err: badResponse(p, err), nextModel: true}
	}
	// The connection broke: before any delta, as good as a refused one.
	return &attemptError{err: brokenStream(p, err), retry: true, nextModel: true}
}

// streamFromAnswer relays a non-streamed answer as one delta.
func (c *Client) streamFromAnswer(caller, actx context.Context, p *provider, model string, body io.Reader,
	onDelta func(ports.Delta) error) (streamResult, *attemptError) {
	ans, ae := readAnswer(caller, actx, p, body)
	if ae != nil {
		return streamResult{}, ae
	}
	res := streamResult{completion: ports.Completion{FinishReason: ans.finish, Model: ans.model}}
	if res.completion.Model == "" {
		res.completion.Model = model
	}
	if ans.content != "" || ans.reasoning != "" {
		res.delivered = true
		if err := onDelta(ports.Delta{Content: ans.content, Reasoning: ans.reasoning}); err != nil {
			return res, final(err)
		}
	}
	if ans.usage != nil {
		res.completion.Usage = *ans.usage
	} else {
		chars := utf8.RuneCountInString(ans.content) + utf8.RuneCountInString(ans.reasoning)
		res.completion.Usage = ports.Usage{CompletionTokens: estimateTokens(chars), Estimated: true}
	}
	return res, nil
}

// drain reads what is left of a finished reply, briefly, so that the
// connection can be reused.
func drain(body io.Reader, cancel context.CancelCauseFunc) {
	t := time.AfterFunc(drainWait, func() { cancel(errDrained) })
	defer t.Stop()
	_, _ = io.CopyN(io.Discard, body, maxDrainBytes)
}

func isJSON(h http.Header) bool {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

// estimateTokens is the rule of thumb of ~4 characters per token, used when
// the provider reports no usage (an interrupted stream, a server that
// ignores include_usage); Usage.Estimated says so.
func estimateTokens(chars int) int {
	return (chars + 3) / 4
}

func promptChars(msgs []ports.PromptMessage) int {
	n := 0
	for _, m := range msgs {
		n += utf8.RuneCountInString(m.Content)
	}
	return n
}
