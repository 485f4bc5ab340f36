package llm

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/chatd/chatd/internal/domain"
)

// Error codes this adapter returns, stable for clients and dashboards.
const (
	codeNotConfigured = "provider-not-configured"
	codeTimeout       = "provider-timeout"
	codeAuthFailed    = "provider-auth-failed"
	codeNoCredits     = "provider-out-of-credits"
	codeModelNotFound = "model-not-found"
	codeRejected      = "provider-rejected-request"
	codeProviderError = "provider-error"
	codeUnreachable   = "provider-unreachable"
	codeRateLimited   = "provider-rate-limited"
	codeIncomplete    = "provider-incomplete"
	codeBadResponse   = "provider-bad-response"
)

const (
	maxSummaryRunes   = 200
	maxErrorBodyBytes = 64 << 10
)

// timeoutKind says which of our time limits ended a request.
type timeoutKind uint8

const (
	timeoutFirstToken timeoutKind = iota + 1
	timeoutIdle
	timeoutTotal
	timeoutAnswer
	timeoutModels
)

// timeoutError is the cancel cause our watchdogs and deadlines set; its text
// is the sentence users read.
type timeoutError struct {
	kind  timeoutKind
	after time.Duration
}

func (e *timeoutError) Error() string {
	d := shortDuration(e.after)
	switch e.kind {
	case timeoutFirstToken:
		return "the model did not start answering within " + d
	case timeoutIdle:
		return "the model stopped sending for " + d
	case timeoutTotal:
		return "the reply took longer than " + d
	case timeoutModels:
		return "the provider did not list its models within " + d
	}
	return "the model did not answer within " + d
}

// shortDuration prints 30s, 2m, 10m30s, 1h rather than 2m0s or 1h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func timeoutFailure(te *timeoutError) *domain.Error {
	return domain.Unavailable(codeTimeout, te.Error(), nil)
}

// transportFailure is a request that got no answer: refused, reset, DNS.
// The sentence names the host only (never the URL path or the key).
func transportFailure(p *provider, err error) *domain.Error {
	return domain.Unavailable(codeUnreachable, fmt.Sprintf("could not reach %s at %s", p.label, p.host), unwrapURLError(err))
}

// brokenStream is a connection lost while the reply was streaming.
func brokenStream(p *provider, err error) *domain.Error {
	return domain.Unavailable(codeIncomplete,
		fmt.Sprintf("the connection to %s broke before the reply was finished", p.label), unwrapURLError(err))
}

func incompleteStream() *domain.Error {
	return domain.Unavailable(codeIncomplete, errIncomplete.Error(), nil)
}

func badResponse(p *provider, err error) *domain.Error {
	return domain.Unavailable(codeBadResponse, fmt.Sprintf("%s sent an answer chatd could not read", p.label), err)
}

// streamFailure is an error the provider reported inside a 200 answer.
func streamFailure(p *provider, ue *upstreamError) *domain.Error {
	detail := fmt.Sprintf("%s failed while answering", p.label)
	if s := summarize(ue.message, p.key); s != "" {
		detail += ": " + s
	}
	return domain.Unavailable(codeProviderError, detail, nil)
}

// statusFailure maps an HTTP error answer to a sentence. The body is read
// (bounded) for its message only; it is never passed on as is.
func statusFailure(p *provider, model string, resp *http.Response) *domain.Error {
	code := resp.StatusCode
	summary := summarize(errorMessage(resp.Body), p.key)
	switch {
	case code >= 300 && code < 400:
		return domain.Unavailable(codeProviderError,
			fmt.Sprintf("%s answered with a redirect (HTTP %d), which chatd does not follow; check its base URL", p.label, code), nil)
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		// No summary: some servers echo the key they refused.
		return domain.Unavailable(codeAuthFailed, fmt.Sprintf("%s refused our credentials (HTTP %d)", p.label, code), nil)
	case code == http.StatusPaymentRequired:
		return domain.Unavailable(codeNoCredits, fmt.Sprintf("%s refused the request: the account is out of credits (HTTP 402)", p.label), nil)
	case code == http.StatusNotFound:
		return domain.Invalid(codeModelNotFound, fmt.Sprintf("%s does not offer the model %q", p.label, model))
	case code == http.StatusTooManyRequests:
		after, _ := retryAfter(resp.Header)
		detail := fmt.Sprintf("%s is rate limiting requests; try again later", p.label)
		if after >= time.Second {
			detail = fmt.Sprintf("%s is rate limiting requests; try again in %s", p.label, shortDuration(after.Round(time.Second)))
		}
		return domain.RateLimited(codeRateLimited, detail, after)
	case code >= 400 && code < 500:
		detail := fmt.Sprintf("%s rejected the request (HTTP %d)", p.label, code)
		if summary != "" {
			detail = fmt.Sprintf("%s rejected the request: %s", p.label, summary)
		}
		return domain.Invalid(codeRejected, detail)
	}
	de := domain.Unavailable(codeProviderError, fmt.Sprintf("%s failed to answer (HTTP %d)", p.label, code), nil)
	if after, ok := retryAfter(resp.Header); ok {
		de.RetryAfter = after
	}
	return de
}

// errorMessage finds the message in an error body: {"error": {"message"}},
// {"error": "text"}, {"message"} or {"detail"}. Anything else yields "":
// an unknown body (an HTML error page, a stack trace) is not shown at all.
func errorMessage(body io.Reader) string {
	raw, _ := io.ReadAll(io.LimitReader(body, maxErrorBodyBytes))
	if msg := readUpstreamError(raw).message; msg != "" {
		return msg
	}
	var d struct {
		Detail json.RawMessage `json:"detail"`
	}
	var s string
	if json.Unmarshal(raw, &d) == nil && json.Unmarshal(d.Detail, &s) == nil {
		return s
	}
	return ""
}

// summarize makes an upstream message fit to show: one line, no control or
// invisible formatting characters, at most maxSummaryRunes, and without our key should the
// upstream have echoed it.
func summarize(msg, key string) string {
	if key != "" {
		msg = strings.ReplaceAll(msg, key, "[REDACTED]")
	}
	var b strings.Builder
	space, n := false, 0
	for _, r := range strings.TrimSpace(msg) {
		if r == utf8.RuneError || unicode.Is(unicode.Cf, r) { // Cf: bidi overrides, zero-width marks
			continue
		}
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
			n++
		}
		space = false
		if n >= maxSummaryRunes {
			return strings.TrimSpace(b.String()) + "…"
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// unwrapURLError drops net/http's `Post "https://…":` wrapper: the URL is
// noise in a message and the real cause is inside.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
