package telemetry

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.uber.org/zap"
)

// newTracerProvider builds the SDK's provider with a batching OTLP/HTTP
// exporter. It connects to nothing: the first batch does. The exporter reads
// its other OTEL_EXPORTER_OTLP_* variables (headers, timeout, compression,
// certificates) and the batcher its OTEL_BSP_* variables from the
// environment itself; the sampler comes from OTEL_TRACES_SAMPLER (default:
// follow the parent, else sample).
func newTracerProvider(ctx context.Context, cfg Config, log *zap.Logger) (*sdktrace.TracerProvider, error) {
	exporter, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(cfg.TracesURL()))
	if err != nil {
		return nil, fmt.Errorf("otlp trace exporter: %w", err)
	}
	res, err := newResource(ctx, cfg)
	if errors.Is(err, resource.ErrPartialResource) {
		// A malformed OTEL_RESOURCE_ATTRIBUTES entry: keep what was read.
		log.Warn("some resource attributes were not understood", zap.Error(err))
	} else if err != nil {
		return nil, fmt.Errorf("telemetry resource: %w", err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res)), nil
}

// newResource describes this process. Later options win: the default name,
// then OTEL_RESOURCE_ATTRIBUTES (and OTEL_SERVICE_NAME) from the
// environment, then a name given to chatd explicitly.
func newResource(ctx context.Context, cfg Config) (*resource.Resource, error) {
	opts := []resource.Option{
		resource.WithTelemetrySDK(),
		resource.WithAttributes(semconv.ServiceName(DefaultServiceName), semconv.ServiceVersion(cfg.ServiceVersion)),
		resource.WithFromEnv(),
	}
	if cfg.ServiceName != "" {
		opts = append(opts, resource.WithAttributes(semconv.ServiceName(cfg.ServiceName)))
	}
	res, err := resource.New(ctx, opts...)
	if err != nil {
		return res, fmt.Errorf("detect: %w", err)
	}
	return res, nil
}
