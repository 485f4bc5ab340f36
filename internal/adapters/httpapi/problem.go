package httpapi

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/domain"
)

const problemContentType = "application/problem+json"

// statusOf is the one table from error kinds to HTTP statuses.
var statusOf = map[domain.ErrorKind]int{
	domain.ErrInvalid:         http.StatusUnprocessableEntity,
	domain.ErrNotFound:        http.StatusNotFound,
	domain.ErrForbidden:       http.StatusForbidden,
	domain.ErrConflict:        http.StatusConflict,
	domain.ErrUnauthenticated: http.StatusUnauthorized,
	domain.ErrRateLimited:     http.StatusTooManyRequests,
	domain.ErrUnavailable:     http.StatusServiceUnavailable,
}

// problem is an RFC 9457 body.
type problem struct {
	Type      string         `json:"type"`
	Title     string         `json:"title"`
	Status    int            `json:"status"`
	Detail    string         `json:"detail"`
	Instance  string         `json:"instance"`
	RequestID string         `json:"request_id"`
	Errors    []fieldProblem `json:"errors,omitempty"`
}

type fieldProblem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// httpError is an edge failure that has no domain kind: a malformed body, a
// wrong content type, a body too large.
type httpError struct {
	status int
	code   string
	detail string
	fields []domain.FieldError
}

func (e *httpError) Error() string { return e.detail }

func badRequest(code, detail string) error {
	return &httpError{status: http.StatusBadRequest, code: code, detail: detail}
}

// writeProblems renders the first error a handler attached, once, at the edge.
func writeProblems(log *zap.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		if len(c.Errors) == 0 || c.Writer.Written() {
			return
		}
		renderError(c, log, c.Errors[0].Err)
	}
}

func renderError(c *gin.Context, log *zap.Logger, err error) {
	p := problemFor(err)
	if p.Status >= 500 {
		log.Error("request failed", zap.String("request_id", requestID(c)), zap.Int("status", p.Status),
			zap.String("route", c.FullPath()), zap.Error(err))
	}
	if de, ok := domain.AsError(err); ok && de.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(de.RetryAfter.Seconds()))))
	}
	if p.Status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="chatd"`)
	}
	writeProblem(c, p)
}

func writeProblem(c *gin.Context, p problem) {
	p.Instance = c.Request.URL.Path
	p.RequestID = requestID(c)
	c.Header("Content-Type", problemContentType)
	c.Render(p.Status, problemRender{p})
	c.Abort()
}

// problemFor maps any error to the body a client sees. Unknown errors become
// a generic 500 that reveals nothing.
func problemFor(err error) problem {
	var he *httpError
	if errors.As(err, &he) {
		return newProblem(he.status, he.code, he.detail, he.fields)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return newProblem(http.StatusServiceUnavailable, "request-timeout",
			"the server could not answer in time; try again shortly", nil)
	}
	if de, ok := domain.AsError(err); ok {
		status, known := statusOf[de.Kind]
		if !known {
			status = http.StatusInternalServerError
		}
		detail := de.Detail
		if detail == "" {
			detail = http.StatusText(status)
		}
		return newProblem(status, de.Code, detail, de.Fields)
	}
	return newProblem(http.StatusInternalServerError, "internal-error", "the server failed to handle this request", nil)
}

func newProblem(status int, code, detail string, fields []domain.FieldError) problem {
	p := problem{Type: "urn:chatd:problem:" + code, Title: http.StatusText(status), Status: status, Detail: detail}
	for _, f := range fields {
		p.Errors = append(p.Errors, fieldProblem{Field: f.Field, Message: f.Message})
	}
	return p
}

// BadRequest is a 400 for malformed input that no domain rule covers (an id,
// a query parameter), for adapters that mount routes of their own.
func BadRequest(code, detail string) error { return badRequest(code, detail) }
