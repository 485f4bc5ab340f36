package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
)

const requestIDHeader = "X-Request-ID"

// requestIDs echoes a client's X-Request-ID (when it is short and printable)
// or makes one, and puts it on every response.
func requestIDs() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(requestIDHeader)
		if !validRequestID(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set(requestIDHeader, id)
		c.Header(requestIDHeader, id)
		c.Next()
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}

func requestID(c *gin.Context) string { return c.GetString(requestIDHeader) }

// securityHeaders keeps API answers out of caches and browsers' guesswork.
func securityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if strings.HasPrefix(c.Request.URL.Path, "/api/") {
			h.Set("Cache-Control", "no-store")
		}
		c.Next()
	}
}

// limitBody makes every body read stop at the limit; decodeJSON turns the
// overflow into 413.
func limitBody(limit int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.FullPath() == importRoute { // bounded by its own limit (routes_transfer.go)
			c.Next()
			return
		}
		if c.Request.ContentLength > limit {
			writeProblem(c, newProblem(http.StatusRequestEntityTooLarge, "body-too-large",
				"the request body exceeds the limit", nil))
			return
		}
		if c.Request.ContentLength < 0 {
			// A chunked body has no declared size: read it to the limit now,
			// so even a route that ignores its body answers 413 for a large one.
			buffered, err := io.ReadAll(io.LimitReader(c.Request.Body, limit+1))
			if err != nil {
				writeProblem(c, newProblem(http.StatusBadRequest, "unreadable-body", "the request body could not be read", nil))
				return
			}
			if int64(len(buffered)) > limit {
				writeProblem(c, newProblem(http.StatusRequestEntityTooLarge, "body-too-large",
					"the request body exceeds the limit", nil))
				return
			}
			c.Request.Body = io.NopCloser(bytes.NewReader(buffered))
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
		c.Next()
	}
}

// requestDeadline bounds every request that is not a stream, so a database
// that stops answering (frozen, partitioned) turns into 503s within the
// deadline instead of requests that hang. Streams (SSE, ?wait=true,
// WebSocket) live as long as their reply and are bounded by it instead.
//
// Sign-up and sign-in wait at least passwordDeadline: each derives a
// password hash that is slow on purpose and runs a CPU's worth at a time,
// so a burst of them queues for the CPUs, not for a database that is gone.
func requestDeadline(d time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		if d <= 0 || isLongLived(c.Request) {
			c.Next()
			return
		}
		deadline := d
		if hashesPassword[c.FullPath()] {
			deadline = max(d, passwordDeadline)
		}
		ctx, cancel := context.WithTimeout(c.Request.Context(), deadline)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

// passwordDeadline is the deadline of the routes that hash a password: a
// burst of 2000 sign-ups takes about 35 s of hashing on two cores.
const passwordDeadline = time.Minute

var hashesPassword = map[string]bool{"/api/v1/auth/register": true, "/api/v1/auth/login": true}

func isLongLived(r *http.Request) bool {
	return r.URL.Query().Get("wait") == "true" || strings.Contains(r.Header.Get("Accept"), "text/event-stream") ||
		strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// recoverPanics answers a panic with a generic 500 and logs it once.
func recoverPanics(log *zap.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if err, ok := r.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(r)
				}
				log.Error("panic in handler", zap.Any("panic", r), zap.String("route", c.FullPath()),
					zap.String("request_id", requestID(c)), zap.Stack("stack"))
				if !c.Writer.Written() {
					writeProblem(c, newProblem(http.StatusInternalServerError, "internal-error",
						"the server failed to handle this request", nil))
				}
			}
		}()
		c.Next()
	}
}

// accessLog logs one line per request: never the query string, which may
// carry an access token. A traced request's line carries its trace_id.
func accessLog(log *zap.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		fields := append(make([]zap.Field, 0, 10),
			zap.String("method", c.Request.Method),
			zap.String("path", c.Request.URL.Path),
			zap.String("route", c.FullPath()),
			zap.Int("status", c.Writer.Status()),
			zap.Int("bytes", c.Writer.Size()),
			zap.Duration("duration", time.Since(start)),
			zap.String("request_id", requestID(c)),
			zap.String("user_id", c.GetString(callerUserIDKey)),
		)
		log.Info("request", append(fields, traceFields(c.Request.Context())...)...)
	}
}

// cors answers browsers from allow-listed origins only; without a list no
// cross-origin request is allowed. Never "*".
func cors(allowed []string) gin.HandlerFunc {
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		if origin == "" || !slices.Contains(allowed, origin) {
			c.Next()
			return
		}
		h := c.Writer.Header()
		h.Add("Vary", "Origin")
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", "X-Request-ID, Retry-After")
		if c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key, X-Request-ID, Accept")
			h.Set("Access-Control-Max-Age", "600")
			c.AbortWithStatus(http.StatusNoContent)
			return
		}
		c.Next()
	}
}

var tracer = otel.Tracer("github.com/chatd/chatd/internal/adapters/httpapi")

// untracedRoutes are probed and scraped every few seconds: as spans they
// would bury the requests worth reading.
var untracedRoutes = map[string]bool{
	"/metrics": true, "/api/v1/health": true, "/api/v1/health/ready": true, "/api/v1/chat/health": true,
}

// traceRequests makes each request a server span named "METHOD /route/:param"
// (a trace the client started, in a W3C traceparent header, is continued).
// It runs first, so that refusals (401, 413, 429) are traced too. The span
// never holds the query string (it may carry an access token) nor a body.
// With tracing off the span is the global no-op one and is not even put in
// the request's context.
func traceRequests() gin.HandlerFunc {
	return func(c *gin.Context) {
		route := c.FullPath()
		if untracedRoutes[route] {
			c.Next()
			return
		}
		ctx := otel.GetTextMapPropagator().Extract(c.Request.Context(), propagation.HeaderCarrier(c.Request.Header))
		ctx, span := tracer.Start(ctx, "HTTP", trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		if span.SpanContext().IsValid() {
			c.Request = c.Request.WithContext(ctx)
		}
		c.Next()
		if span.IsRecording() {
			describeRequest(span, c, route)
		}
	}
}

// describeRequest names the span and sets the HTTP semantic conventions'
// attributes once the answer is known.
func describeRequest(span trace.Span, c *gin.Context, route string) {
	method := c.Request.Method
	name := method
	if !knownMethods[method] {
		// Any verb reaches NoRoute; keep the names few.
		method, name = "_OTHER", "HTTP"
	}
	if route != "" {
		name += " " + route
		span.SetAttributes(semconv.HTTPRoute(route))
	}
	span.SetName(name)
	scheme := "http"
	if c.Request.TLS != nil {
		scheme = "https"
	}
	status := c.Writer.Status()
	span.SetAttributes(
		semconv.HTTPRequestMethodKey.String(method),
		semconv.URLPath(c.Request.URL.Path),
		semconv.URLScheme(scheme),
		semconv.HTTPResponseStatusCode(status),
	)
	if status >= http.StatusInternalServerError {
		// A server span fails on 5xx only: a 4xx is the client's doing.
		span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(status)))
		span.SetStatus(codes.Error, "")
	}
}

var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true, http.MethodPatch: true,
	http.MethodDelete: true, http.MethodConnect: true, http.MethodOptions: true, http.MethodTrace: true,
}

// traceFields are the ids of the request's span, for its log lines.
func traceFields(ctx context.Context) []zap.Field {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return nil
	}
	return []zap.Field{zap.String("trace_id", sc.TraceID().String()), zap.String("span_id", sc.SpanID().String())}
}
