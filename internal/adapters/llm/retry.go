package llm

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/domain"
)

const (
	// maxRetryAfter is the longest Retry-After we wait for. A reply waiting
	// longer would look hung to the user; saying "rate limited, try again in
	// N s" is more useful.
	maxRetryAfter = 10 * time.Second
	// maxBackoff caps our own exponential backoff.
	maxBackoff = 5 * time.Second
)

// attemptError is how one request failed and what is worth doing next. The
// rules: retry and fallback happen only before the first delta reached the
// caller (the loop checks that), retry covers failures that say nothing
// about the model (connection, 429, 5xx), fallback covers failures of this
// model (it is missing, refused, broken or too slow to start), and neither
// covers failures of the provider as a whole (credentials, redirect) or of
// the caller (cancel, onDelta).
type attemptError struct {
	err       error
	retry     bool          // the same request may succeed
	wait      time.Duration // the provider's Retry-After, if it gave one
	nextModel bool          // another model may succeed
}

func final(err error) *attemptError { return &attemptError{err: err} }

// statusAttempt classifies an HTTP error answer.
func statusAttempt(p *provider, model string, resp *http.Response) *attemptError {
	ae := &attemptError{err: statusFailure(p, model, resp)}
	code := resp.StatusCode
	switch {
	case code == http.StatusTooManyRequests:
		// Rate limits belong to the key, not the model: no fallback.
		after, _ := retryAfter(resp.Header)
		ae.retry, ae.wait = after <= maxRetryAfter, after
	case retryableStatus(code):
		after, _ := retryAfter(resp.Header)
		ae.retry, ae.wait, ae.nextModel = after <= maxRetryAfter, after, true
	case code == http.StatusUnauthorized || code == http.StatusForbidden ||
		code == http.StatusPaymentRequired || (code >= 300 && code < 400):
		// Another model on the same provider gets the same answer.
	case code >= 400:
		ae.nextModel = true
	}
	return ae
}

// retryableStatus: the server failed, maybe briefly. 500 is included (it is
// not in every client's list) because model servers answer it for transient
// trouble: a worker that died loading a model, an upstream that hiccupped.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryAfter reads how long the provider asks us to wait: OpenAI's
// retry-after-ms, or Retry-After in seconds (fractions accepted) or as an
// HTTP date.
func retryAfter(h http.Header) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 && ms < 1e12 {
			return time.Duration(ms * float64(time.Millisecond)), true
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if !(s >= 0 && s <= 1e9) { // written so that NaN fails too
			return 0, false
		}
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// backoff is the wait before retry number try (0-based): exponential from
// RetryBaseDelay, with equal jitter so that many replies failing together do
// not come back together.
func (c *Client) backoff(try int) time.Duration {
	d := c.cfg.RetryBaseDelay << min(try, 16)
	if d <= 0 || d > maxBackoff {
		d = maxBackoff
	}
	half := d / 2
	return half + rand.N(half+1)
}

// sleepCtx waits d or until ctx is done; it reports whether it waited.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// attemptFunc makes one request for model.
type attemptFunc func(model string) *attemptError

// run tries chain in order, retrying each model as the rules of
// attemptError say, until one attempt succeeds or there is nothing left to
// try. started reports whether a delta already reached the caller: from
// then on an error is returned as is. ctx bounds the whole run (caller's
// context plus our total deadline).
func (c *Client) run(caller, ctx context.Context, p *provider, chain []string, started func() bool, attempt attemptFunc) error {
	for i, model := range chain {
		for try := 0; ; try++ {
			ae := attempt(model)
			if ae == nil {
				return nil
			}
			if started() || ctx.Err() != nil {
				return ae.err
			}
			if ae.retry && try < c.cfg.MaxRetries {
				wait := ae.wait
				if wait == 0 {
					wait = c.backoff(try)
				}
				c.log.Info("provider request failed, retrying",
					zap.String("provider", string(p.id)), zap.String("model", model),
					zap.Int("attempt", try+1), zap.Duration("wait", wait), zap.String("code", errorCode(ae.err)))
				if !c.sleep(ctx, wait) {
					return ctxFailure(caller, ctx)
				}
				continue
			}
			if ae.nextModel && i+1 < len(chain) {
				c.log.Info("provider request failed, trying the next fallback model",
					zap.String("provider", string(p.id)), zap.String("model", model),
					zap.String("next_model", chain[i+1]), zap.String("code", errorCode(ae.err)))
				break
			}
			return ae.err
		}
	}
	return errors.New("no model to try") // chain is never empty: callers check
}

// interrupted reports an attempt that ended because a context did: the
// caller's (its error is returned unchanged, so cancel stays distinguishable
// from failure) or one of our time limits (a sentence saying which).
func interrupted(caller, actx context.Context) *attemptError {
	if caller.Err() != nil {
		return final(context.Cause(caller))
	}
	if actx.Err() == nil {
		return nil
	}
	var te *timeoutError
	if errors.As(context.Cause(actx), &te) {
		// A model too slow to start may be slow to load; another may not be.
		return &attemptError{err: timeoutFailure(te), nextModel: te.kind == timeoutFirstToken}
	}
	return final(context.Cause(actx))
}

// ctxFailure is the error of a run whose context ended between attempts.
func ctxFailure(caller, ctx context.Context) error {
	if ae := interrupted(caller, ctx); ae != nil {
		return ae.err
	}
	return ctx.Err()
}

// errorCode is the code of a domain error, for logs (never the detail: it
// may quote the upstream, which may quote the user).
func errorCode(err error) string {
	if de, ok := domain.AsError(err); ok {
		return de.Code
	}
	return "other"
}
