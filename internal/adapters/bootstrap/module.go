package bootstrap

import (
	"time"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/chatd/chatd/internal/adapters/eventbus"
	"github.com/chatd/chatd/internal/adapters/llm"

	"github.com/chatd/chatd/internal/adapters/auth"
	"github.com/chatd/chatd/internal/adapters/httpapi"
	"github.com/chatd/chatd/internal/adapters/ratelimit"
	"github.com/chatd/chatd/internal/adapters/realtime"
	"github.com/chatd/chatd/internal/adapters/redisbus"
	"github.com/chatd/chatd/internal/adapters/redislimits"
	"github.com/chatd/chatd/internal/adapters/storage"
	"github.com/chatd/chatd/internal/adapters/system"
	"github.com/chatd/chatd/internal/adapters/telemetry"
	"github.com/chatd/chatd/internal/adapters/webui"
	"github.com/chatd/chatd/internal/app"
)

// moduleConfigs splits the one Config into each module's piece.
type moduleConfigs struct {
	fx.Out
	Storage     storage.Config
	Auth        auth.Config
	HTTP        httpapi.Config
	Limits      app.Limits
	Generation  app.GenerationConfig
	LLM         llm.Config
	Events      eventbus.Config
	Broker      redisbus.Config
	RedisLimits redislimits.Config
	Realtime    realtime.Config
	Telemetry   telemetry.Config
}

func splitConfig(c Config) moduleConfigs {
	tel := c.telemetry()
	return moduleConfigs{
		Storage: storage.Config{URL: c.DatabaseURL, AutoMigrate: true, SQLiteSynchronous: c.SQLiteSynchronous,
			TraceQueries: tel.Enabled()},
		Auth: auth.Config{Secret: []byte(c.JWTSecret), AccessTTL: c.AccessTokenTTL, RefreshTTL: c.RefreshTokenTTL},
		HTTP: httpapi.Config{Addr: c.HTTPAddr, CORSOrigins: c.CORSOrigins, MaxBodyBytes: c.MaxBodyBytes,
			RateLimitAPI: c.RateLimitAPI, RateLimitAuth: c.RateLimitAuth, Version: Version, DrainDelay: c.DrainDelay,
			RequestTimeout: c.RequestTimeout, TrustedProxies: c.TrustedProxies, MaxImportBytes: c.MaxImportBytes},
		Limits: app.Limits{MaxMessageChars: c.MaxMessageChars},
		Generation: app.GenerationConfig{
			MaxConcurrentPerUser: c.MaxConcurrentGenerations, RateLimitPerMinute: c.RateLimitLLM,
			DailyTokens:   c.UserDailyTokens,
			FlushInterval: time.Second, ShutdownTimeout: c.ShutdownTimeout, DefaultContextMessages: c.ContextMessages,
			MaxTokensCeiling: c.MaxTokensCeiling, TitleModel: c.TitleModel, SoleProcess: c.BrokerURL == "",
		},
		LLM: llm.Config{
			Local: llm.ProviderConfig{BaseURL: c.LocalBaseURL, APIKey: c.LocalAPIKey, FirstTokenTimeout: c.LocalFirstTokenTimeout},
			OpenRouter: llm.ProviderConfig{BaseURL: c.OpenRouterBaseURL, APIKey: c.OpenRouterAPIKey,
				FirstTokenTimeout: c.OpenRouterFirstTokenTimeout, Referer: c.OpenRouterReferer, Title: c.OpenRouterTitle},
			ConnectTimeout: c.LLMConnectTimeout, IdleTimeout: c.LLMIdleTimeout, TotalTimeout: c.LLMTotalTimeout,
			MaxRetries: llmRetries(c.LLMMaxRetries),
		},
		Events:      eventbus.Config{ReplayEvents: c.ReplayEvents, ReplayAge: c.ReplayAge},
		Broker:      redisbus.Config{URL: c.BrokerURL, ReplayEvents: c.ReplayEvents},
		RedisLimits: redislimits.Config{URL: c.BrokerURL},
		Realtime: realtime.Config{AllowedOrigins: c.CORSOrigins, MaxFrameBytes: c.WSMaxFrameBytes,
			SendBuffer: c.WSSendBuffer},
		Telemetry: tel,
	}
}

func (c Config) telemetry() telemetry.Config {
	return telemetry.Config{SDKDisabled: c.OTelSDKDisabled, TracesExporter: c.OTelTracesExporter,
		ServiceName: c.OTelServiceName, ServiceVersion: Version,
		Endpoint: c.OTLPEndpoint, TracesEndpoint: c.OTLPTracesEndpoint}
}

// Options is the whole graph of a serving chatd. Tests add fx.Decorate or
// fx.Replace options after it to swap an adapter for a fake.
func Options(cfg Config, log *zap.Logger) fx.Option {
	return fx.Options(
		// First, so that it starts before anything makes spans and stops
		// (flushing them) after everything else.
		telemetry.Module,
		CoreOptions(cfg, log),
		app.Serving,
		realtime.Module,
		httpapi.Module,
		webui.Module,
	)
}

// CoreOptions is the graph without any listener and without generating:
// storage, auth and the use cases. Commands such as `chatd user create` run
// on it, and never touch the replies a running server generates.
func CoreOptions(cfg Config, log *zap.Logger) fx.Option {
	return fx.Options(
		fx.Supply(cfg, log),
		fx.WithLogger(func(l *zap.Logger) fxevent.Logger {
			zl := &fxevent.ZapLogger{Logger: l.Named("fx")}
			zl.UseLogLevel(zapcore.DebugLevel)
			return zl
		}),
		fx.Provide(splitConfig),
		fx.Provide(newSlogLogger),
		system.Module,
		storage.Module,
		sharedState(cfg),
		llm.Module,
		auth.Module,
		app.Module,
	)
}

// sharedState is what the processes of one service share: nothing beyond
// this process without a broker, else the broker holds the session events,
// cancel requests and per-user limits.
func sharedState(cfg Config) fx.Option {
	if cfg.BrokerURL == "" {
		return fx.Options(eventbus.Module, ratelimit.Module)
	}
	return fx.Options(redisbus.Module, redislimits.Module)
}

// llmRetries maps CHAT_LLM_MAX_RETRIES to the adapter's convention, where
// zero means "default" and a negative number means "none".
func llmRetries(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
