// Package telemetry exports chatd's traces over OTLP (HTTP/protobuf) when an
// endpoint is configured, with the standard OTEL_* variables. Off, nothing is
// installed: the other adapters' spans go to OpenTelemetry's global no-op
// tracer and cost next to nothing.
package telemetry

import "strings"

// DefaultServiceName is service.name when neither OTEL_SERVICE_NAME nor
// OTEL_RESOURCE_ATTRIBUTES names the service.
const DefaultServiceName = "chatd"

// Config is the telemetry module's piece of the deployment configuration,
// read from the OTEL_* variables by bootstrap.
type Config struct {
	// SDKDisabled is OTEL_SDK_DISABLED=true: no tracing, whatever else is set.
	SDKDisabled bool
	// TracesExporter is OTEL_TRACES_EXPORTER: "otlp" (the default) or "none".
	TracesExporter string
	// ServiceName is OTEL_SERVICE_NAME; empty takes service.name from
	// OTEL_RESOURCE_ATTRIBUTES, else DefaultServiceName.
	ServiceName string
	// ServiceVersion is chatd's release (service.version).
	ServiceVersion string
	// Endpoint is OTEL_EXPORTER_OTLP_ENDPOINT: a base URL to which
	// /v1/traces is appended.
	Endpoint string
	// TracesEndpoint is OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: the full URL
	// traces are posted to; it wins over Endpoint.
	TracesEndpoint string
}

// Enabled reports whether traces are exported: an endpoint is set and
// nothing turned them off.
func (c Config) Enabled() bool {
	return !c.SDKDisabled && c.TracesExporter != "none" && c.TracesURL() != ""
}

// TracesURL is where spans are posted, following the OTLP exporter
// specification: the signal-specific endpoint as given, else the base
// endpoint with /v1/traces appended to its path.
func (c Config) TracesURL() string {
	if c.TracesEndpoint != "" {
		return c.TracesEndpoint
	}
	if c.Endpoint == "" {
		return ""
	}
	return strings.TrimRight(c.Endpoint, "/") + "/v1/traces"
}
