package llm

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// Traces follow the GenAI semantic conventions (semconv v1.41.0): one client
// span "chat {model}" per streamed reply, parent of one HTTP client span per
// provider request (retries and fallbacks included). No prompt, reply or
// reasoning text is ever recorded: those are users' data.
//
// With tracing off the global tracer is OpenTelemetry's no-op one; attributes
// are only built for spans that record, and nothing is done per token.

var tracer = otel.Tracer("github.com/chatd/chatd/internal/adapters/llm")

// usageEstimatedKey marks token counts chatd estimated from the text because
// the provider reported none.
const usageEstimatedKey = attribute.Key("chatd.usage.estimated")

// tracedTransport wraps the provider transport: a request made under a span
// becomes a client span of its own and carries the W3C traceparent header
// upstream. A request under no span (nothing is being traced) goes straight
// through.
func tracedTransport(base http.RoundTripper) http.RoundTripper {
	return otelhttp.NewTransport(base,
		otelhttp.WithFilter(func(r *http.Request) bool { return trace.SpanContextFromContext(r.Context()).IsValid() }),
		// The provider paths are a handful of fixed ones (/chat/completions,
		// /models): low-cardinality names.
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + r.URL.Path }),
	)
}

// providerAttributes name a provider in the GenAI conventions' terms. LOCAL
// is any OpenAI-compatible server (Ollama, vLLM, llama.cpp), so it speaks the
// "openai" flavour; OpenRouter has no registered value and is named as such.
func providerAttributes(id domain.Provider, base string) []attribute.KeyValue {
	name := semconv.GenAIProviderNameOpenAI
	if id == domain.ProviderOpenRouter {
		name = semconv.GenAIProviderNameKey.String("openrouter")
	}
	attrs := []attribute.KeyValue{semconv.GenAIOperationNameChat, name}
	if u, err := url.Parse(base); err == nil && u.Hostname() != "" {
		attrs = append(attrs, semconv.ServerAddress(u.Hostname()))
		if port, err := strconv.Atoi(u.Port()); err == nil {
			attrs = append(attrs, semconv.ServerPort(port))
		}
	}
	return attrs
}

// generationTrace is the span of one streamed reply.
type generationTrace struct {
	span  trace.Span
	start time.Time
	first time.Time // when the first delta arrived; zero before
}

// startGeneration opens the reply's span under the caller's (the request
// that asked for the reply) and returns the context its provider requests
// run in.
func startGeneration(ctx context.Context, p *provider, req ports.CompletionRequest) (context.Context, *generationTrace) {
	ctx, span := tracer.Start(ctx, "chat "+req.Model, trace.WithSpanKind(trace.SpanKindClient))
	g := &generationTrace{span: span}
	if !span.IsRecording() {
		return ctx, g
	}
	g.start = time.Now()
	span.SetAttributes(p.traceAttrs...)
	span.SetAttributes(semconv.GenAIRequestModel(req.Model))
	if req.Temperature != nil {
		span.SetAttributes(semconv.GenAIRequestTemperature(*req.Temperature))
	}
	if req.TopP != nil {
		span.SetAttributes(semconv.GenAIRequestTopP(*req.TopP))
	}
	if req.MaxTokens != nil {
		span.SetAttributes(semconv.GenAIRequestMaxTokens(*req.MaxTokens))
	}
	return ctx, g
}

// observe notes when the first delta arrives. A span that does not record
// needs no note, and its onDelta is left as it was.
func (g *generationTrace) observe(onDelta func(ports.Delta) error) func(ports.Delta) error {
	if !g.span.IsRecording() {
		return onDelta
	}
	return func(d ports.Delta) error {
		if g.first.IsZero() {
			g.first = time.Now()
		}
		return onDelta(d)
	}
}

// end records how the reply ended and closes the span. Errors are named by
// their code only: their sentences may quote what a provider answered.
func (g *generationTrace) end(out ports.Completion, err error) {
	defer g.span.End()
	if !g.span.IsRecording() {
		return
	}
	if !g.first.IsZero() {
		g.span.SetAttributes(semconv.GenAIResponseTimeToFirstChunk(g.first.Sub(g.start).Seconds()))
	}
	if err != nil {
		code := errorType(err)
		g.span.SetAttributes(semconv.ErrorTypeKey.String(code))
		g.span.SetStatus(codes.Error, code)
		return
	}
	g.span.SetAttributes(
		semconv.GenAIResponseModel(out.Model),
		semconv.GenAIResponseFinishReasons(out.FinishReason),
		semconv.GenAIUsageInputTokens(out.Usage.PromptTokens),
		semconv.GenAIUsageOutputTokens(out.Usage.CompletionTokens),
	)
	if out.Usage.Estimated {
		g.span.SetAttributes(usageEstimatedKey.Bool(true))
	}
}

// errorType is the stable code of a domain error, else the error's type.
func errorType(err error) string {
	if de, ok := domain.AsError(err); ok && de.Code != "" {
		return de.Code
	}
	return semconv.ErrorType(err).Value.AsString()
}
