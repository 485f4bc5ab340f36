package telemetry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// collector records the OTLP/HTTP exports it receives.
type collector struct {
	mu      sync.Mutex
	exports []*coltracepb.ExportTraceServiceRequest
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if r.URL.Path != "/v1/traces" || proto.Unmarshal(raw, &req) != nil {
		http.Error(w, "bad export", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.exports = append(c.exports, &req)
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
}

func (c *collector) spanNames() (names []string, service string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.exports {
		for _, rs := range e.GetResourceSpans() {
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.GetKey() == "service.name" {
					service = kv.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					names = append(names, s.GetName())
				}
			}
		}
	}
	return names, service
}

func runModule(t *testing.T, cfg Config) {
	t.Helper()
	app := fxtest.New(t, fx.Supply(cfg, zap.NewNop()), Module)
	app.RequireStart()
	_, span := otel.Tracer("test").Start(context.Background(), "a span")
	span.End()
	app.RequireStop()
}

func TestModuleOffInstallsNothing(t *testing.T) {
	before := otel.GetTracerProvider()
	runModule(t, Config{})
	runModule(t, Config{Endpoint: "http://127.0.0.1:1", SDKDisabled: true})
	if _, sdk := otel.GetTracerProvider().(*sdktrace.TracerProvider); sdk || otel.GetTracerProvider() != before {
		t.Fatal("a disabled module replaced the global tracer provider")
	}
}

// The stop flushes what the batcher holds, long before its schedule (5 s by
// default) would have sent it.
func TestModuleExportsAndFlushesOnStop(t *testing.T) {
	col := &collector{}
	srv := httptest.NewServer(col)
	defer srv.Close()
	runModule(t, Config{Endpoint: srv.URL, ServiceName: "chatd-eu-1", ServiceVersion: "1.2.3"})
	names, service := col.spanNames()
	if len(names) != 1 || names[0] != "a span" || service != "chatd-eu-1" {
		t.Fatalf("exported %q from %q, want [a span] from chatd-eu-1", names, service)
	}
}
