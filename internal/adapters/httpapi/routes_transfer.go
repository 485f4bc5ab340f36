package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/adapters/transfer"
	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// importRoute bounds its body by Config.MaxImportBytes instead of
// MaxBodyBytes: the global body limit leaves it alone.
const importRoute = "/api/v1/chat/import"

const (
	// importTimeout replaces the request deadline on an import: reading a
	// large file from a slow client and storing it may take longer, but not
	// forever.
	importTimeout = 2 * time.Minute
	// exportFlushEvery is how many messages an export writes between flushes,
	// so a long export reaches the client as it goes.
	exportFlushEvery = 200
)

type transferRoutes struct {
	imports  *app.ImportSessions
	exports  *app.ExportSessions
	clock    ports.Clock
	log      *zap.Logger
	maxBytes int64
}

func newTransferRoutes(cfg Config, imports *app.ImportSessions, exports *app.ExportSessions, clock ports.Clock,
	log *zap.Logger,
) *transferRoutes {
	return &transferRoutes{imports: imports, exports: exports, clock: clock, log: log.Named("transfer"),
		maxBytes: cfg.MaxImportBytes}
}

func (h *transferRoutes) Mount(g RouteGroups) {
	g.Authed.GET("/chat/sessions/:session_id/export", handle(h.exportSession))
	g.Authed.GET("/chat/export", handle(h.exportAccount))
	g.Authed.POST(strings.TrimPrefix(importRoute, "/api/v1"), importBodyLimit(h.maxBytes), handle(h.importFile))
}

// importBodyLimit is limitBody for the import: a declared size over the
// limit is refused at once, and any body stops at the limit as it streams
// into the decoder (never buffered whole, unlike limitBody's chunked case).
func importBodyLimit(limit int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if limit <= 0 {
			limit = 64 << 20
		}
		if c.Request.ContentLength > limit {
			writeProblem(c, newProblem(http.StatusRequestEntityTooLarge, "body-too-large",
				fmt.Sprintf("the import file exceeds %d bytes", limit), nil))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
		c.Next()
	}
}

type importedSessionResponse struct {
	ID           string `json:"id"`
	Title        string `json:"title"`
	MessageCount int    `json:"message_count"`
}

type importSkipResponse struct {
	Index  int    `json:"index"`
	Reason string `json:"reason"`
}

type importResponse struct {
	Sessions []importedSessionResponse `json:"sessions"`
	Skipped  []importSkipResponse      `json:"skipped"`
}

func (h *transferRoutes) importFile(c *gin.Context) error {
	provider, model, err := importTarget(c)
	if err != nil {
		return err
	}
	if err := requireJSON(c.Request); err != nil {
		return err
	}
	ctx, cancel := detachedContext(c, importTimeout)
	defer cancel()
	// The fingerprint an Idempotency-Key retry must match: what continues
	// the sessions and every byte of the file.
	hash := sha256.New()
	fmt.Fprintf(hash, "%d:%s;%d:%s;", len(provider), provider, len(model), model)
	conversations, err := transfer.Decode(io.TeeReader(c.Request.Body, hash))
	if err != nil {
		return importDecodeError(err)
	}
	res, err := h.imports.Handle(ctx, callerOf(c), app.ImportSessionsCmd{
		Provider: provider, Model: model, Conversations: conversations,
		RequestHash: hex.EncodeToString(hash.Sum(nil)), IdempotencyKey: c.GetHeader("Idempotency-Key"),
	})
	if err != nil {
		return err
	}
	body := importResponse{Sessions: make([]importedSessionResponse, 0, len(res.Sessions)),
		Skipped: make([]importSkipResponse, 0, len(res.Skipped))}
	for _, s := range res.Sessions {
		body.Sessions = append(body.Sessions, importedSessionResponse{ID: s.ID, Title: s.Title, MessageCount: s.MessageCount})
	}
	for _, s := range res.Skipped {
		body.Skipped = append(body.Skipped, importSkipResponse{Index: s.Index, Reason: s.Reason})
	}
	c.JSON(http.StatusCreated, body)
	return nil
}

// importTarget reads ?llm_provider and ?llm_model: both required, both
// checked by the domain's rules (422).
func importTarget(c *gin.Context) (domain.Provider, string, error) {
	rawProvider, ok := c.GetQuery("llm_provider")
	if !ok {
		return "", "", missingField("llm_provider")
	}
	provider, err := domain.ParseProvider(rawProvider)
	if err != nil {
		return "", "", err
	}
	model, ok := c.GetQuery("llm_model")
	if !ok {
		return "", "", missingField("llm_model")
	}
	if err := domain.CheckModel("llm_model", model); err != nil {
		return "", "", err
	}
	return provider, model, nil
}

func importDecodeError(err error) error {
	var malformed *transfer.MalformedError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &malformed):
		return badRequest("malformed-json", malformed.Detail)
	case errors.As(err, &tooLarge):
		return &httpError{status: http.StatusRequestEntityTooLarge, code: "body-too-large",
			detail: fmt.Sprintf("the import file exceeds %d bytes", tooLarge.Limit)}
	}
	if _, ok := domain.AsError(err); ok {
		return err
	}
	return badRequest("unreadable-body", "the request body could not be read")
}

func (h *transferRoutes) exportSession(c *gin.Context) error {
	id, err := pathID(c, "session_id")
	if err != nil {
		return err
	}
	format := c.DefaultQuery("format", "json")
	if format != "json" && format != "markdown" {
		return badQuery("format", "must be json or markdown")
	}
	ctx, cancel := detachedContext(c, 0)
	defer cancel()
	if format == "markdown" {
		s, branch, err := h.exports.Branch(ctx, callerOf(c), id)
		if err != nil {
			return err
		}
		attachment(c, fileName(s.Title(), s.ID())+".md")
		c.Header("Content-Type", "text/markdown; charset=utf-8")
		c.Status(http.StatusOK)
		if err := transfer.WriteMarkdown(c.Writer, s, branch, h.clock.Now()); err != nil {
			h.abort(c, err)
		}
		return nil
	}
	sink := &exportSink{c: c, exportedAt: h.clock.Now()}
	sink.start = func(s *domain.ChatSession) { attachment(c, fileName(s.Title(), s.ID())+".json") }
	if err := h.exports.Session(ctx, callerOf(c), id, sink); err != nil {
		if sink.w == nil {
			return err // nothing written yet: an ordinary problem answer
		}
		h.abort(c, err)
	}
	if err := sink.close(); err != nil {
		h.abort(c, err)
	}
	return nil
}

func (h *transferRoutes) exportAccount(c *gin.Context) error {
	ctx, cancel := detachedContext(c, 0)
	defer cancel()
	now := h.clock.Now()
	sink := &exportSink{c: c, exportedAt: now}
	attachment(c, "chatd-export-"+now.UTC().Format("2006-01-02")+".json")
	if err := sink.open(); err != nil {
		h.abort(c, err)
	}
	if err := h.exports.Owned(ctx, callerOf(c), sink); err != nil {
		h.abort(c, err)
	}
	if err := sink.close(); err != nil {
		h.abort(c, err)
	}
	return nil
}

// abort ends a streamed answer that failed after its status was sent: the
// connection is cut, so the client sees a truncated body, never a complete
// but partial export.
func (h *transferRoutes) abort(c *gin.Context, err error) {
	h.log.Warn("export failed while streaming", zap.String("request_id", requestID(c)), zap.Error(err))
	panic(http.ErrAbortHandler)
}

// exportSink writes a chatd.v1 document straight to the response as the
// export is read, and flushes it every few hundred messages.
type exportSink struct {
	c          *gin.Context
	exportedAt time.Time
	start      func(*domain.ChatSession) // sets headers that depend on the first session
	w          *transfer.Writer
	written    int
}

func (s *exportSink) open() error {
	s.c.Header("Content-Type", jsonContentType)
	s.c.Status(http.StatusOK)
	w, err := transfer.NewWriter(s.c.Writer, s.exportedAt)
	s.w = w
	return err
}

func (s *exportSink) BeginSession(session *domain.ChatSession) error {
	if s.w == nil {
		if s.start != nil {
			s.start(session)
		}
		if err := s.open(); err != nil {
			return err
		}
	}
	return s.w.BeginSession(session)
}

func (s *exportSink) Message(m *domain.ChatMessage) error {
	if err := s.w.Message(m); err != nil {
		return err
	}
	s.written++
	if s.written%exportFlushEvery == 0 {
		if err := s.w.Flush(); err != nil {
			return err
		}
		s.c.Writer.Flush()
	}
	return nil
}

func (s *exportSink) EndSession() error { return s.w.EndSession() }

func (s *exportSink) close() error {
	if s.w == nil {
		return nil
	}
	return s.w.Close()
}

func attachment(c *gin.Context, name string) {
	c.Header("Content-Disposition", `attachment; filename="`+name+`"`)
}

// fileName makes a safe ASCII file name from a title: letters, digits, '-',
// '_' and '.', other runs become one '-'; the id when nothing is left.
func fileName(title, id string) string {
	var b strings.Builder
	dash := false
	for _, r := range title {
		switch {
		case r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.'):
			b.WriteRune(r)
			dash = false
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = true
		}
		if b.Len() >= 80 {
			break
		}
	}
	name := strings.Trim(b.String(), "-.")
	if name == "" {
		return id
	}
	return name
}

// detachedContext drops the request deadline (an export lasts as long as
// the history it streams; an import as long as its file takes to arrive),
// bounded instead by timeout when it is positive, and still ends when the
// client goes away.
func detachedContext(c *gin.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	req := c.Request.Context()
	ctx, cancel := context.WithCancel(context.WithoutCancel(req))
	stop := context.AfterFunc(req, func() {
		if !errors.Is(req.Err(), context.DeadlineExceeded) {
			cancel()
		}
	})
	if timeout > 0 {
		var cancelTimeout context.CancelFunc
		ctx, cancelTimeout = context.WithTimeout(ctx, timeout)
		inner := cancel
		cancel = func() { cancelTimeout(); inner() }
	}
	return ctx, func() { stop(); cancel() }
}
