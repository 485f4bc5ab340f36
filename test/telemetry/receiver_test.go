package telemetry

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// span is one received span, flattened with its resource.
type span struct {
	TraceID, SpanID, ParentID string
	Name                      string
	Kind                      tracepb.Span_SpanKind
	Status                    tracepb.Status_StatusCode
	Attrs                     map[string]*commonpb.AnyValue
	Events                    []*tracepb.Span_Event
	Resource                  map[string]*commonpb.AnyValue
}

func (s span) str(key string) string { return s.Attrs[key].GetStringValue() }
func (s span) int(key string) int64  { return s.Attrs[key].GetIntValue() }

// receiver is an OTLP/HTTP trace collector: POST /v1/traces with an
// ExportTraceServiceRequest in protobuf, as otlptracehttp sends it.
type receiver struct {
	URL string // base URL, as OTEL_EXPORTER_OTLP_ENDPOINT takes it

	mu      sync.Mutex
	spans   []span
	changed chan struct{} // closed and replaced on every export
}

func startReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{changed: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", r.export)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

func (r *receiver) export(w http.ResponseWriter, req *http.Request) {
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var in coltracepb.ExportTraceServiceRequest
	if req.Header.Get("Content-Type") != "application/x-protobuf" || proto.Unmarshal(raw, &in) != nil {
		http.Error(w, "want application/x-protobuf ExportTraceServiceRequest", http.StatusBadRequest)
		return
	}
	r.add(&in)
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = io.Copy(w, bytes.NewReader(out))
}

func (r *receiver) add(in *coltracepb.ExportTraceServiceRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range in.GetResourceSpans() {
		res := attrMap(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				r.spans = append(r.spans, span{
					TraceID: hex.EncodeToString(s.GetTraceId()), SpanID: hex.EncodeToString(s.GetSpanId()),
					ParentID: hex.EncodeToString(s.GetParentSpanId()), Name: s.GetName(), Kind: s.GetKind(),
					Status: s.GetStatus().GetCode(), Attrs: attrMap(s.GetAttributes()), Events: s.GetEvents(),
					Resource: res,
				})
			}
		}
	}
	close(r.changed)
	r.changed = make(chan struct{})
}

func attrMap(kvs []*commonpb.KeyValue) map[string]*commonpb.AnyValue {
	m := make(map[string]*commonpb.AnyValue, len(kvs))
	for _, kv := range kvs {
		m[kv.GetKey()] = kv.GetValue()
	}
	return m
}

// all returns every span received so far.
func (r *receiver) all() []span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]span(nil), r.spans...)
}

// waitFor waits until ok holds for the spans received, and returns them.
func (r *receiver) waitFor(t *testing.T, what string, ok func([]span) bool) []span {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		r.mu.Lock()
		spans, changed := append([]span(nil), r.spans...), r.changed
		r.mu.Unlock()
		if ok(spans) {
			return spans
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no %s among the %d spans received:\n%s", what, len(spans), describe(spans))
		}
	}
}

func describe(spans []span) string {
	var b bytes.Buffer
	for _, s := range spans {
		b.WriteString("  " + s.TraceID[:8] + " " + s.SpanID + " <- " + s.ParentID + " " + s.Kind.String() + " " + s.Name + "\n")
	}
	return b.String()
}
