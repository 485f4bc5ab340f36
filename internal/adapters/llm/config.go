// Package llm talks to OpenAI-compatible chat-completion servers: LOCAL
// (Ollama, llama.cpp server, vLLM, LM Studio) and OpenRouter. One client
// serves both; a preset per provider sets the base URL, the key, the
// attribution headers and the first-token timeout.
//
// The client and its server-sent-events reader are written here on net/http
// and encoding/json rather than taken from github.com/openai/openai-go,
// because the behaviours users need sit exactly where that SDK decides for us:
//   - timeouts: we need a first-token timeout (per provider, 120 s for a local
//     model that is still loading), an idle timeout between chunks and a total
//     timeout, all enforced by cancelling the request so a blocked body read
//     ends; the SDK offers a request timeout and its own retry loop only;
//   - reasoning: OpenRouter and Ollama send delta.reasoning, DeepSeek, vLLM
//     and llama.cpp send delta.reasoning_content; the SDK's typed chunk knows
//     neither, and we must keep both apart from the answer text;
//   - failures: an error after streaming began arrives as an HTTP 200 chunk
//     (OpenRouter's top-level "error" with finish_reason "error", vLLM's
//     {"object":"error"}), and a stream that stops without a finish_reason
//     must fail rather than look completed; the SDK reports neither reliably;
//   - lines far over 64 KiB (a long reasoning chunk, a base64 image) must not
//     break the reader the way a default bufio.Scanner does;
//   - cost: a reply relays thousands of tokens, so the reader reuses its
//     buffers and decodes each chunk into a reused struct, a few allocations
//     per token (see BenchmarkStreamTokens);
//   - retries: ours run only before the first token reached anyone and move
//     on to fallback models; the SDK would retry on its own terms.
package llm

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Defaults applied to zero Config fields.
const (
	DefaultLocalBaseURL           = "http://127.0.0.1:11434/v1"
	DefaultOpenRouterBaseURL      = "https://openrouter.ai/api/v1"
	DefaultLocalFirstTokenTimeout = 120 * time.Second
	DefaultCloudFirstTokenTimeout = 30 * time.Second
	DefaultConnectTimeout         = 5 * time.Second
	DefaultIdleTimeout            = 30 * time.Second
	DefaultTotalTimeout           = 10 * time.Minute
	DefaultMaxRetries             = 2
	DefaultRetryBaseDelay         = 250 * time.Millisecond
	DefaultModelsCacheTTL         = 5 * time.Minute
)

// Config is the llm module's piece of the deployment configuration. Zero
// durations and a zero MaxRetries take the defaults above.
type Config struct {
	Local      ProviderConfig
	OpenRouter ProviderConfig
	// ConnectTimeout bounds the TCP dial (and, doubled, the TLS handshake).
	ConnectTimeout time.Duration
	// IdleTimeout is the longest silence allowed between two reads of a
	// streaming reply once it has started; it also bounds a models listing.
	IdleTimeout time.Duration
	// TotalTimeout bounds a whole reply, retries and fallbacks included.
	TotalTimeout time.Duration
	// MaxRetries is how often one model is tried again after a transient
	// failure before anything reached the caller. Negative: never retry.
	MaxRetries int
	// RetryBaseDelay is the first backoff; each retry doubles it, jittered.
	RetryBaseDelay time.Duration
	// ModelsCacheTTL is how long a provider's model list is reused.
	// Negative: never cache.
	ModelsCacheTTL time.Duration
}

// ProviderConfig is one upstream. APIKey is sent, as a bearer token, to
// BaseURL only.
type ProviderConfig struct {
	BaseURL string
	APIKey  string
	// FirstTokenTimeout is how long a reply may take to start (request sent
	// to first content or reasoning delta). Local models may have to load
	// first, hence the larger default for LOCAL.
	FirstTokenTimeout time.Duration
	// Referer and Title are OpenRouter's attribution headers (HTTP-Referer,
	// X-Title), sent only when set.
	Referer string
	Title   string
}

// withDefaults fills zero fields and rejects values that cannot work. Errors
// never contain a key.
func (c Config) withDefaults() (Config, error) {
	var err error
	if c.Local, err = c.Local.withDefaults("local", DefaultLocalBaseURL, DefaultLocalFirstTokenTimeout); err != nil {
		return c, err
	}
	if c.OpenRouter, err = c.OpenRouter.withDefaults("openrouter", DefaultOpenRouterBaseURL, DefaultCloudFirstTokenTimeout); err != nil {
		return c, err
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&c.ConnectTimeout, DefaultConnectTimeout},
		{&c.IdleTimeout, DefaultIdleTimeout},
		{&c.TotalTimeout, DefaultTotalTimeout},
		{&c.RetryBaseDelay, DefaultRetryBaseDelay},
		{&c.ModelsCacheTTL, DefaultModelsCacheTTL},
	} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if c.ConnectTimeout < 0 || c.IdleTimeout < 0 || c.TotalTimeout < 0 || c.RetryBaseDelay < 0 {
		return c, errors.New("llm config: timeouts and the retry delay must not be negative")
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = DefaultMaxRetries
	}
	if c.MaxRetries < 0 {
		c.MaxRetries = 0
	}
	return c, nil
}

func (p ProviderConfig) withDefaults(name, baseURL string, firstToken time.Duration) (ProviderConfig, error) {
	if p.BaseURL == "" {
		p.BaseURL = baseURL
	}
	u, err := url.Parse(p.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return p, fmt.Errorf("llm config: the %s base URL must be an absolute http(s) URL", name)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		// Credentials in the URL would be sent to wherever it points and
		// printed wherever it is printed; the key belongs in APIKey.
		return p, fmt.Errorf("llm config: the %s base URL must not carry credentials, a query or a fragment", name)
	}
	p.BaseURL = strings.TrimRight(p.BaseURL, "/")
	if p.FirstTokenTimeout == 0 {
		p.FirstTokenTimeout = firstToken
	}
	if p.FirstTokenTimeout < 0 {
		return p, fmt.Errorf("llm config: the %s first-token timeout must not be negative", name)
	}
	return p, nil
}

// String redacts the key so that a config dump or a %v in a log line cannot
// print it.
func (p ProviderConfig) String() string {
	key := "none"
	if p.APIKey != "" {
		key = "[REDACTED]"
	}
	return fmt.Sprintf("{BaseURL:%s APIKey:%s FirstTokenTimeout:%s Referer:%q Title:%q}",
		p.BaseURL, key, p.FirstTokenTimeout, p.Referer, p.Title)
}

// GoString redacts the key from %#v as well.
func (p ProviderConfig) GoString() string { return p.String() }

// String redacts both keys.
func (c Config) String() string {
	return fmt.Sprintf("llm.Config{Local:%s OpenRouter:%s ConnectTimeout:%s IdleTimeout:%s TotalTimeout:%s MaxRetries:%d RetryBaseDelay:%s ModelsCacheTTL:%s}",
		c.Local, c.OpenRouter, c.ConnectTimeout, c.IdleTimeout, c.TotalTimeout, c.MaxRetries, c.RetryBaseDelay, c.ModelsCacheTTL)
}

// GoString redacts both keys from %#v as well.
func (c Config) GoString() string { return c.String() }
