package telemetry

import "testing"

func TestTracesURLAndEnabled(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     Config
		url     string
		enabled bool
	}{
		{"nothing set", Config{}, "", false},
		{"base endpoint", Config{Endpoint: "http://collector:4318"}, "http://collector:4318/v1/traces", true},
		{"base endpoint with a path", Config{Endpoint: "https://gw.example.com/otlp/"}, "https://gw.example.com/otlp/v1/traces", true},
		{"traces endpoint as given", Config{TracesEndpoint: "http://c:4318/custom"}, "http://c:4318/custom", true},
		{"traces endpoint wins", Config{Endpoint: "http://a:4318", TracesEndpoint: "http://b:4318/v1/traces"}, "http://b:4318/v1/traces", true},
		{"sdk disabled", Config{Endpoint: "http://a:4318", SDKDisabled: true}, "http://a:4318/v1/traces", false},
		{"exporter none", Config{Endpoint: "http://a:4318", TracesExporter: "none"}, "http://a:4318/v1/traces", false},
		{"exporter otlp", Config{Endpoint: "http://a:4318", TracesExporter: "otlp"}, "http://a:4318/v1/traces", true},
	} {
		if got := tc.cfg.TracesURL(); got != tc.url {
			t.Errorf("%s: TracesURL %q, want %q", tc.name, got, tc.url)
		}
		if got := tc.cfg.Enabled(); got != tc.enabled {
			t.Errorf("%s: Enabled %v, want %v", tc.name, got, tc.enabled)
		}
	}
}
