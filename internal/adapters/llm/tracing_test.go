package llm

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

var (
	recorderOnce sync.Once
	recorder     *tracetest.SpanRecorder
	testTracer   trace.Tracer
)

// traced starts a root span for one test on OpenTelemetry's globals, which
// the adapter's tracer and transport delegate to once they are set (once per
// process, hence the sync.Once), and returns its context and a reader of
// the spans of its trace, once ended.
func traced(t *testing.T) (context.Context, func() []sdktrace.ReadOnlySpan) {
	t.Helper()
	recorderOnce.Do(func() {
		recorder = tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
		otel.SetTracerProvider(tp)
		otel.SetTextMapPropagator(propagation.TraceContext{})
		testTracer = tp.Tracer("test")
	})
	ctx, root := testTracer.Start(context.Background(), "test")
	t.Cleanup(func() { root.End() })
	id := root.SpanContext().TraceID()
	return ctx, func() []sdktrace.ReadOnlySpan {
		var out []sdktrace.ReadOnlySpan
		for _, s := range recorder.Ended() {
			if s.SpanContext().TraceID() == id {
				out = append(out, s)
			}
		}
		return out
	}
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func childOf(spans []sdktrace.ReadOnlySpan, parent trace.SpanContext) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Parent().SpanID() == parent.SpanID() {
			out = append(out, s)
		}
	}
	return out
}

// noText fails if any span of the trace holds one of texts in its name,
// status, attributes or events.
func noText(t *testing.T, spans []sdktrace.ReadOnlySpan, texts ...string) {
	t.Helper()
	for _, s := range spans {
		all := []string{s.Name(), s.Status().Description}
		for _, kv := range s.Attributes() {
			all = append(all, kv.Value.String())
		}
		for _, e := range s.Events() {
			all = append(all, e.Name)
			for _, kv := range e.Attributes {
				all = append(all, kv.Value.String())
			}
		}
		for _, a := range all {
			for _, text := range texts {
				if strings.Contains(a, text) {
					t.Errorf("span %q holds %q", s.Name(), text)
				}
			}
		}
	}
}

func TestStreamSpanFollowsGenAIConventions(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) { replyOK(w, "secret ", "reply") })
	c := localClient(t, u)
	ctx, spansOf := traced(t)
	root := trace.SpanContextFromContext(ctx)
	req := localReq("llama3.2")
	req.Messages[1].Content = "secret prompt"
	temp := 0.5
	req.Temperature = &temp

	_, err := c.Stream(ctx, req, func(ports.Delta) error { return nil })
	mustNotFail(t, err)

	spans := spansOf()
	gens := childOf(spans, root)
	if len(gens) != 1 || gens[0].Name() != "chat llama3.2" || gens[0].SpanKind() != trace.SpanKindClient {
		t.Fatalf("want one client span chat llama3.2 under the caller's, got %d: %v", len(gens), gens)
	}
	gen := gens[0]
	got := attrs(gen)
	for key, want := range map[attribute.Key]any{
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "server.address": "127.0.0.1",
		"gen_ai.request.model": "llama3.2", "gen_ai.response.model": "served/model", "gen_ai.request.temperature": 0.5,
		"gen_ai.usage.input_tokens": int64(10), "gen_ai.usage.output_tokens": int64(2),
		"gen_ai.response.finish_reasons": "[stop]",
	} {
		if v := got[key].AsInterface(); fmt.Sprint(v) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", key, v, want)
		}
	}
	if ttfc := got["gen_ai.response.time_to_first_chunk"].AsFloat64(); ttfc <= 0 {
		t.Errorf("time to first chunk %v", ttfc)
	}
	if _, ok := got[usageEstimatedKey]; ok {
		t.Error("reported usage marked estimated")
	}

	calls := childOf(spans, gen.SpanContext())
	if len(calls) != 1 || calls[0].Name() != "POST /v1/chat/completions" || calls[0].SpanKind() != trace.SpanKindClient {
		t.Fatalf("want one provider call under the generation, got %v", calls)
	}
	want := fmt.Sprintf("00-%s-%s-01", root.TraceID(), calls[0].SpanContext().SpanID())
	if tp := u.requests()[0].header.Get("Traceparent"); tp != want {
		t.Errorf("traceparent %q, want %q", tp, want)
	}
	noText(t, spans, "secret", "terse")
}

// Each attempt is a provider call of its own under the one generation span.
func TestStreamSpanCoversRetries(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		if n == 0 {
			writeError(w, http.StatusServiceUnavailable, `{"error":{"message":"busy"}}`)
			return
		}
		replyOK(w, "ok")
	})
	ctx, spansOf := traced(t)
	_, err := localClient(t, u).Stream(ctx, localReq("m"), func(ports.Delta) error { return nil })
	mustNotFail(t, err)
	spans := spansOf()
	gens := childOf(spans, trace.SpanContextFromContext(ctx))
	if len(gens) != 1 {
		t.Fatalf("%d generation spans, want 1", len(gens))
	}
	if calls := childOf(spans, gens[0].SpanContext()); len(calls) != 2 {
		t.Fatalf("%d provider calls under the generation, want 2", len(calls))
	}
}

// A failed reply is named by its code; what the provider said stays out.
func TestStreamSpanOfAFailure(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		writeError(w, http.StatusBadRequest, `{"error":{"message":"your secret prompt is too long"}}`)
	})
	ctx, spansOf := traced(t)
	_, err := localClient(t, u).Stream(ctx, localReq("m"), func(ports.Delta) error { return nil })
	de, ok := domain.AsError(err)
	if !ok {
		t.Fatalf("error %v", err)
	}
	spans := spansOf()
	gens := childOf(spans, trace.SpanContextFromContext(ctx))
	if len(gens) != 1 {
		t.Fatalf("%d generation spans, want 1", len(gens))
	}
	gen := gens[0]
	if gen.Status().Code != codes.Error || gen.Status().Description != de.Code || attrs(gen)["error.type"].AsString() != de.Code {
		t.Errorf("status %v, error.type %q, want the code %q", gen.Status(), attrs(gen)["error.type"].AsString(), de.Code)
	}
	if _, ok := attrs(gen)["gen_ai.usage.output_tokens"]; ok {
		t.Error("a failed reply reports usage")
	}
	noText(t, spans, "secret", "too long")
}
