package bootstrap

import (
	"strings"
	"testing"
)

// The OTEL_* variables reach the telemetry and storage modules; tracing is
// off unless an endpoint is set, and OTEL_SDK_DISABLED wins.
func TestTelemetrySettings(t *testing.T) {
	if cfg := load(t, nil, env{}); splitConfig(cfg).Telemetry.Enabled() || splitConfig(cfg).Storage.TraceQueries {
		t.Fatal("tracing is on by default")
	}
	cfg := load(t, nil, env{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SERVICE_NAME": "chatd-eu"})
	parts := splitConfig(cfg)
	tel := parts.Telemetry
	if !tel.Enabled() || !parts.Storage.TraceQueries || tel.TracesURL() != "http://127.0.0.1:4318/v1/traces" ||
		tel.ServiceName != "chatd-eu" || tel.ServiceVersion != Version {
		t.Fatalf("telemetry %+v, storage traces queries %v", tel, parts.Storage.TraceQueries)
	}
	cfg = load(t, nil, env{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://c.example.com/traces", "OTEL_SDK_DISABLED": "TRUE"})
	if tel := splitConfig(cfg).Telemetry; tel.Enabled() || tel.TracesURL() != "https://c.example.com/traces" {
		t.Fatalf("disabled telemetry %+v", tel)
	}
	cfg = load(t, nil, env{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"})
	if splitConfig(cfg).Telemetry.Enabled() {
		t.Fatal("OTEL_TRACES_EXPORTER=none left tracing on")
	}

	bad := env{
		"OTEL_SDK_DISABLED":                  "1",
		"OTEL_TRACES_EXPORTER":               "jaeger",
		"OTEL_EXPORTER_OTLP_ENDPOINT":        "127.0.0.1:4318",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "grpc://c:4317",
		"OTEL_EXPORTER_OTLP_PROTOCOL":        "grpc",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json",
	}
	_, _, err := Load(nil, bad.get)
	if err == nil {
		t.Fatal("bad OTEL_* values accepted")
	}
	for k := range bad {
		if !strings.Contains(err.Error(), k+":") {
			t.Errorf("%s not reported in:\n%v", k, err)
		}
	}
}
