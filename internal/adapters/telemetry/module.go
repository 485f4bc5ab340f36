package telemetry

import (
	"context"
	"net/url"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/fx"
	"go.uber.org/zap"
)

// Module exports traces while the app runs, when Config.Enabled: at start it
// installs the SDK's tracer provider and the W3C TraceContext propagator as
// OpenTelemetry's globals (which the other adapters' tracers already
// delegate to); at stop it flushes the spans still queued and shuts the
// exporter down. It must come before the modules whose spans it should
// flush, since fx stops hooks in the reverse order of their start.
var Module = fx.Module("telemetry", fx.Invoke(register))

func register(lc fx.Lifecycle, cfg Config, log *zap.Logger) {
	if !cfg.Enabled() {
		return
	}
	log = log.Named("telemetry")
	var provider *sdktrace.TracerProvider
	lc.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			p, err := newTracerProvider(ctx, cfg, log)
			if err != nil {
				return err
			}
			provider = p
			// Export failures (a collector that is down) are reported, not
			// fatal: chatd serves without its traces.
			otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
				log.Warn("telemetry", zap.Error(err))
			}))
			otel.SetTextMapPropagator(propagation.TraceContext{})
			otel.SetTracerProvider(p)
			log.Info("exporting traces", zap.String("endpoint", redactedURL(cfg.TracesURL())))
			return nil
		},
		OnStop: func(ctx context.Context) error {
			return provider.Shutdown(ctx)
		},
	})
}

// redactedURL hides a password a collector URL may carry.
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}
