package bootstrap

import (
	"fmt"
	"strings"
)

// setting is one configuration value: read from its environment variable,
// overridden by the flag of the same name in kebab-case, else its default.
type setting struct {
	env    string
	def    string
	help   string
	secret bool // never printed; may also come from <env>_FILE
	apply  func(c *Config, raw string) error
}

// Flag is the setting's command-line name: CHAT_HTTP_ADDR -> chat-http-addr.
func (s setting) Flag() string {
	return strings.ToLower(strings.ReplaceAll(s.env, "_", "-"))
}

// settings lists every setting chatd reads; `chatd --help` and the README
// are generated from the same facts.
var settings = []setting{
	{env: "CHAT_HTTP_ADDR", def: "127.0.0.1:8000", help: "listen address (host:port)",
		apply: func(c *Config, v string) error { return nonEmpty(&c.HTTPAddr, v) }},
	{env: "CHAT_DATABASE_URL", def: "sqlite://./data/chat.db", help: "sqlite://PATH or postgres://USER@HOST:PORT/DB?sslmode=...",
		apply: func(c *Config, v string) error { return nonEmpty(&c.DatabaseURL, v) }},
	{env: "CHAT_SQLITE_SYNCHRONOUS", def: "full",
		help:  "SQLite only: full (every commit on disk before it is answered) or normal (a commit survives chatd crashing but not a power cut or OS crash; writes about 1.5x faster)",
		apply: func(c *Config, v string) error { return oneOf(&c.SQLiteSynchronous, v, "full", "normal") }},
	{env: "CHAT_JWT_SECRET", def: "", secret: true,
		help:  "HS256 key, at least 32 bytes; generated beside the SQLite file in dev, required with PostgreSQL",
		apply: func(c *Config, v string) error { c.JWTSecret = v; return nil }},
	{env: "CHAT_ACCESS_TOKEN_TTL", def: "15m", help: "lifetime of an access token",
		apply: func(c *Config, v string) error { return positiveDuration(&c.AccessTokenTTL, v) }},
	{env: "CHAT_REFRESH_TOKEN_TTL", def: "720h", help: "lifetime of a refresh token",
		apply: func(c *Config, v string) error { return positiveDuration(&c.RefreshTokenTTL, v) }},
	{env: "CHAT_LOCAL_BASE_URL", def: "http://127.0.0.1:11434/v1", help: "OpenAI-compatible server for LOCAL (Ollama, llama.cpp, vLLM)",
		apply: func(c *Config, v string) error { return baseURL(&c.LocalBaseURL, v) }},
	{env: "CHAT_OPENROUTER_BASE_URL", def: "https://openrouter.ai/api/v1", help: "OpenRouter API base URL",
		apply: func(c *Config, v string) error { return baseURL(&c.OpenRouterBaseURL, v) }},
	{env: "CHAT_OPENROUTER_API_KEY", def: "", secret: true, help: "OpenRouter API key (empty: OPENROUTER answers a clear error)",
		apply: func(c *Config, v string) error { c.OpenRouterAPIKey = v; return nil }},
	{env: "CHAT_LOCAL_API_KEY", def: "", secret: true, help: "key sent to the LOCAL server, if it wants one (Ollama does not)",
		apply: func(c *Config, v string) error { c.LocalAPIKey = v; return nil }},
	{env: "CHAT_OPENROUTER_REFERER", def: "", help: "HTTP-Referer attribution header sent to OpenRouter (empty: none)",
		apply: func(c *Config, v string) error { c.OpenRouterReferer = v; return nil }},
	{env: "CHAT_OPENROUTER_TITLE", def: "", help: "X-Title attribution header sent to OpenRouter (empty: none)",
		apply: func(c *Config, v string) error { c.OpenRouterTitle = v; return nil }},
	{env: "CHAT_LLM_CONNECT_TIMEOUT", def: "5s", help: "how long connecting to a provider may take",
		apply: func(c *Config, v string) error { return positiveDuration(&c.LLMConnectTimeout, v) }},
	{env: "CHAT_LOCAL_FIRST_TOKEN_TIMEOUT", def: "120s", help: "how long a LOCAL model may take to start answering (loading included)",
		apply: func(c *Config, v string) error { return positiveDuration(&c.LocalFirstTokenTimeout, v) }},
	{env: "CHAT_OPENROUTER_FIRST_TOKEN_TIMEOUT", def: "30s", help: "how long an OpenRouter model may take to start answering",
		apply: func(c *Config, v string) error { return positiveDuration(&c.OpenRouterFirstTokenTimeout, v) }},
	{env: "CHAT_LLM_IDLE_TIMEOUT", def: "30s", help: "longest silence between two chunks of a streaming reply",
		apply: func(c *Config, v string) error { return positiveDuration(&c.LLMIdleTimeout, v) }},
	{env: "CHAT_LLM_TOTAL_TIMEOUT", def: "10m", help: "longest a whole reply may take",
		apply: func(c *Config, v string) error { return positiveDuration(&c.LLMTotalTimeout, v) }},
	{env: "CHAT_LLM_MAX_RETRIES", def: "2", help: "retries of a provider call before its first token (connection errors, 429, 502-504)",
		apply: func(c *Config, v string) error { return nonNegative(&c.LLMMaxRetries, v) }},
	{env: "CHAT_MAX_TOKENS_CEILING", def: "8192", help: "server-side ceiling on a reply's max_tokens (0: none)",
		apply: func(c *Config, v string) error { return nonNegative(&c.MaxTokensCeiling, v) }},
	{env: "CHAT_CONTEXT_MESSAGES", def: "50", help: "history messages sent to the model when a session sets no max_context_messages",
		apply: func(c *Config, v string) error { return positive(&c.ContextMessages, v) }},
	{env: "CHAT_TITLE_MODEL", def: "", help: "model that names untitled sessions (empty: the session's own model)",
		apply: func(c *Config, v string) error { c.TitleModel = v; return nil }},
	{env: "CHAT_REPLAY_EVENTS", def: "2048", help: "events per session kept for clients that resume",
		apply: func(c *Config, v string) error { return positive(&c.ReplayEvents, v) }},
	{env: "CHAT_REPLAY_AGE", def: "5m", help: "how long events are kept for clients that resume",
		apply: func(c *Config, v string) error { return positiveDuration(&c.ReplayAge, v) }},
	{env: "CHAT_BROKER_URL", def: "", secret: true,
		help:  "redis://[:PASSWORD@]HOST:PORT/DB shared by every process of one service (empty: one process, in-process events)",
		apply: func(c *Config, v string) error { return brokerURL(&c.BrokerURL, v) }},
	{env: "CHAT_WS_MAX_FRAME_BYTES", def: "65536", help: "largest inbound WebSocket frame; larger closes with 1009",
		apply: func(c *Config, v string) error { return positive64(&c.WSMaxFrameBytes, v) }},
	{env: "CHAT_WS_SEND_BUFFER", def: "64", help: "frames queued per WebSocket for its writer; a socket that falls 128 times this far behind is closed as a slow consumer (4008)",
		apply: func(c *Config, v string) error { return positive(&c.WSSendBuffer, v) }},
	{env: "CHAT_CORS_ORIGINS", def: "", help: "comma-separated browser origins allowed for HTTP and WebSocket (empty: none)",
		apply: func(c *Config, v string) error { return origins(&c.CORSOrigins, v) }},
	{env: "CHAT_TRUSTED_PROXIES", def: "", help: "comma-separated proxy addresses or CIDRs whose X-Forwarded-For is believed (empty: none)",
		apply: func(c *Config, v string) error { return proxies(&c.TrustedProxies, v) }},
	{env: "CHAT_LOG_LEVEL", def: "info", help: "debug, info, warn or error",
		apply: func(c *Config, v string) error { return oneOf(&c.LogLevel, v, "debug", "info", "warn", "error") }},
	{env: "CHAT_LOG_FORMAT", def: "json", help: "json (production) or console (development)",
		apply: func(c *Config, v string) error { return oneOf(&c.LogFormat, v, "json", "console") }},
	{env: "CHAT_RATE_LIMIT_API", def: "600", help: "requests per user per minute (0: unlimited)",
		apply: func(c *Config, v string) error { return nonNegative(&c.RateLimitAPI, v) }},
	{env: "CHAT_RATE_LIMIT_LLM", def: "30", help: "requests that start a generation, per user per minute (0: unlimited)",
		apply: func(c *Config, v string) error { return nonNegative(&c.RateLimitLLM, v) }},
	{env: "CHAT_RATE_LIMIT_AUTH", def: "30", help: "register/login/refresh attempts per client address per minute (0: unlimited)",
		apply: func(c *Config, v string) error { return nonNegative(&c.RateLimitAuth, v) }},
	{env: "CHAT_MAX_CONCURRENT_GENERATIONS", def: "4", help: "replies generating at once per user; more is 429",
		apply: func(c *Config, v string) error { return positive(&c.MaxConcurrentGenerations, v) }},
	{env: "CHAT_USER_DAILY_TOKENS", def: "0", help: "tokens per user per UTC day (0: unlimited)",
		apply: func(c *Config, v string) error { return nonNegative(&c.UserDailyTokens, v) }},
	{env: "CHAT_MAX_BODY_BYTES", def: "1048576", help: "largest request body in bytes; larger is 413",
		apply: func(c *Config, v string) error { return positive64(&c.MaxBodyBytes, v) }},
	{env: "CHAT_MAX_IMPORT_BYTES", def: "67108864", help: "largest import file (POST /chat/import) in bytes; larger is 413",
		apply: func(c *Config, v string) error { return positive64(&c.MaxImportBytes, v) }},
	{env: "CHAT_MAX_MESSAGE_CHARS", def: "32000", help: "longest message content in characters",
		apply: func(c *Config, v string) error { return positive(&c.MaxMessageChars, v) }},
	{env: "CHAT_DRAIN_DELAY", def: "1s", help: "on stop, how long /health/ready answers 503 before the listener closes (0s: none)",
		apply: func(c *Config, v string) error { return nonNegativeDuration(&c.DrainDelay, v) }},
	{env: "CHAT_REQUEST_TIMEOUT", def: "5s", help: "deadline of a request that is not a stream; past it the answer is 503",
		apply: func(c *Config, v string) error { return positiveDuration(&c.RequestTimeout, v) }},
	{env: "CHAT_SHUTDOWN_TIMEOUT", def: "15s", help: "how long a stop waits for streams before saving them as interrupted",
		apply: func(c *Config, v string) error { return positiveDuration(&c.ShutdownTimeout, v) }},
	{env: "OTEL_SDK_DISABLED", def: "false", help: "true turns OpenTelemetry off, whatever else is set",
		apply: func(c *Config, v string) error { return boolean(&c.OTelSDKDisabled, v) }},
	{env: "OTEL_TRACES_EXPORTER", def: "otlp", help: "otlp, or none to export no traces",
		apply: func(c *Config, v string) error { return oneOf(&c.OTelTracesExporter, v, "otlp", "none") }},
	{env: "OTEL_SERVICE_NAME", def: "", help: "service.name of chatd's spans (empty: service.name in OTEL_RESOURCE_ATTRIBUTES, else chatd)",
		apply: func(c *Config, v string) error { c.OTelServiceName = v; return nil }},
	{env: "OTEL_EXPORTER_OTLP_ENDPOINT", def: "",
		help:  "OTLP/HTTP collector base URL such as http://127.0.0.1:4318; spans go to its /v1/traces (empty: no traces unless the next is set)",
		apply: func(c *Config, v string) error { return optionalURL(&c.OTLPEndpoint, v) }},
	{env: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", def: "", help: "full OTLP/HTTP URL spans are posted to; wins over OTEL_EXPORTER_OTLP_ENDPOINT",
		apply: func(c *Config, v string) error { return optionalURL(&c.OTLPTracesEndpoint, v) }},
	{env: "OTEL_EXPORTER_OTLP_PROTOCOL", def: otlpProtocol, help: "OTLP transport; chatd speaks http/protobuf only",
		apply: func(c *Config, v string) error { return oneOf(&c.OTLPProtocol, v, otlpProtocol) }},
	{env: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", def: otlpProtocol, help: "OTLP transport of traces; chatd speaks http/protobuf only",
		apply: func(c *Config, v string) error { return oneOf(&c.OTLPTracesProtocol, v, otlpProtocol) }},
}

// otlpProtocol is the one OTLP transport chatd's exporter speaks.
const otlpProtocol = "http/protobuf"

// Usage renders the settings table for `chatd --help`.
func Usage() string {
	var b strings.Builder
	b.WriteString("Settings (environment variable, or the flag of the same name; the flag wins):\n")
	for _, s := range settings {
		def := s.def
		if def == "" {
			def = "(empty)"
		}
		fmt.Fprintf(&b, "  --%s / %s\n        %s (default %s)", s.Flag(), s.env, s.help, def)
		if s.secret {
			fmt.Fprintf(&b, "; may be read from the file named by %s_FILE", s.env)
		}
		b.WriteString("\n")
	}
	return b.String()
}
