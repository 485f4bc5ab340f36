package llm

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

var _ ports.ChatModel = (*Client)(nil)

// Client is the ChatModel of both providers. It is safe for concurrent use;
// one Client (one connection pool) serves the whole process.
type Client struct {
	cfg  Config
	http *http.Client
	// pool is the transport under the tracing wrapper, which cannot close
	// idle connections itself.
	pool   *http.Transport
	log    *zap.Logger
	local  provider
	router provider
	models modelsCache
	// sleep waits between attempts; tests replace it to observe the waits
	// without spending them.
	sleep func(ctx context.Context, d time.Duration) bool
}

// provider is a ProviderConfig resolved for use.
type provider struct {
	id         domain.Provider
	label      string // how sentences for users name it
	base       string // no trailing slash
	host       string // host[:port], for sentences: never the key
	key        string
	firstToken time.Duration
	referer    string
	title      string
	// routesFallbacks: the provider takes the fallback models in the request
	// ("models") and picks one itself, so we send one request, not several.
	routesFallbacks bool
	// needsKey: without a key every request would be refused, so we refuse
	// first, with a sentence that says why.
	needsKey bool
	// traceAttrs name the provider on the spans of its replies.
	traceAttrs []attribute.KeyValue
}

// NewClient builds the client and its connection pool. It makes no request.
func NewClient(cfg Config, log *zap.Logger) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	c := &Client{
		cfg:    cfg,
		log:    log.Named("llm"),
		local:  newProvider(domain.ProviderLocal, "the LOCAL model server", cfg.Local, false),
		router: newProvider(domain.ProviderOpenRouter, "OpenRouter", cfg.OpenRouter, true),
		sleep:  sleepCtx,
	}
	c.models.entries = map[domain.Provider]modelsEntry{}
	c.pool = newTransport(cfg.ConnectTimeout)
	c.http = &http.Client{
		Transport: tracedTransport(c.pool),
		// A redirect would carry the request (and, for a same-host hop, the
		// key) somewhere the deployment did not configure: never follow one.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		// No Timeout: it would cut long streams. Our watchdog bounds them.
	}
	return c, nil
}

func newProvider(id domain.Provider, label string, pc ProviderConfig, cloud bool) provider {
	host := pc.BaseURL
	if u, err := url.Parse(pc.BaseURL); err == nil {
		host = u.Host
	}
	return provider{
		id:              id,
		label:           label,
		base:            pc.BaseURL,
		host:            host,
		key:             pc.APIKey,
		firstToken:      pc.FirstTokenTimeout,
		referer:         pc.Referer,
		title:           pc.Title,
		routesFallbacks: cloud,
		needsKey:        cloud,
		traceAttrs:      providerAttributes(id, pc.BaseURL),
	}
}

// newTransport keeps connections to the providers alive between replies (a
// TLS handshake to OpenRouter costs more than many tokens) and bounds only
// the phases that have a fixed length. Waiting for response headers is left
// unbounded here on purpose: a local model may load for minutes before it
// answers, and the per-provider first-token timeout covers that wait.
func newTransport(connect time.Duration) *http.Transport {
	dialer := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	return &http.Transport{
		// Operators who route egress through a proxy say so in the
		// environment; loopback (the usual LOCAL) is never proxied, and
		// HTTPS (OpenRouter) is tunnelled, so the proxy never sees its key.
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          128,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   2 * connect,
		ExpectContinueTimeout: time.Second,
	}
}

// Close drops idle connections. Replies still streaming are not affected:
// their owners cancel them.
func (c *Client) Close() {
	c.pool.CloseIdleConnections()
}

// provider resolves the provider of a request.
func (c *Client) provider(id domain.Provider) (*provider, error) {
	switch id {
	case domain.ProviderLocal:
		return &c.local, nil
	case domain.ProviderOpenRouter:
		return &c.router, nil
	}
	return nil, domain.Invalid("unknown-provider", "the provider must be LOCAL or OPENROUTER")
}

// usable resolves a provider for generation, refusing before any request
// when it cannot work.
func (c *Client) usable(id domain.Provider) (*provider, error) {
	p, err := c.provider(id)
	if err != nil {
		return nil, err
	}
	if p.needsKey && p.key == "" {
		return nil, domain.Unavailable(codeNotConfigured,
			"OpenRouter is not configured on this server (no API key)", nil)
	}
	return p, nil
}
