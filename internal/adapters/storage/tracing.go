package storage

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/uptrace/bun"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
)

var tracer = otel.Tracer("github.com/chatd/chatd/internal/adapters/storage")

// traceQueries makes each query a client span named "OPERATION table", with
// the database system, the operation and the table. Never the statement:
// bun inlines the arguments into it, and they are users' data (message
// text, emails, token hashes).
func (db *DB) traceQueries() {
	hook := queryTracer{system: db.tracedSystem()}
	shared := db.read == db.write
	db.write = db.write.WithQueryHook(hook)
	if shared {
		db.read = db.write
	} else {
		db.read = db.read.WithQueryHook(hook)
	}
	if db.group != nil {
		// Before any write: the group's loop reads it only once a write
		// reaches it through its channel.
		db.group.db = db.write
	}
}

func (db *DB) tracedSystem() attribute.KeyValue {
	if db.dialect == DialectSQLite {
		return semconv.DBSystemNameSQLite
	}
	return semconv.DBSystemNamePostgreSQL
}

// tracePrepared is the span of a preparedRead, which bypasses bun and its
// hook: made, like the hook's, only for a caller already traced (so never
// when tracing is off), and ended by the returned function.
func (db *DB) tracePrepared(ctx context.Context, op, table string) func(error) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return func(error) {}
	}
	_, span := tracer.Start(ctx, op+" "+table, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		db.tracedSystem(), semconv.DBOperationName(op), semconv.DBCollectionName(table)))
	return func(err error) {
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			span.SetAttributes(semconv.ErrorType(err))
			span.SetStatus(codes.Error, "")
		}
		span.End()
	}
}

type queryTracer struct{ system attribute.KeyValue }

// querySpanKey holds the span a BeforeQuery started, for its AfterQuery. The
// span is not made the context's current span: a query has no children, and
// bun keeps BEGIN's context for the whole transaction, which would otherwise
// hang every query of the transaction under the BEGIN span.
type querySpanKey struct{}

func (h queryTracer) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	// Only queries made for something already traced (a request, a reply):
	// the background loops (leases, repairs) would otherwise fill the
	// backend with lone query spans.
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	op := operation(e)
	attrs := make([]attribute.KeyValue, 0, 3)
	attrs = append(attrs, h.system, semconv.DBOperationName(op))
	name := op
	if table := tableName(e); table != "" {
		attrs = append(attrs, semconv.DBCollectionName(table))
		name += " " + table
	}
	_, span := tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(e.StartTime), trace.WithAttributes(attrs...))
	return context.WithValue(ctx, querySpanKey{}, span)
}

func (queryTracer) AfterQuery(ctx context.Context, e *bun.QueryEvent) {
	span, ok := ctx.Value(querySpanKey{}).(trace.Span)
	if !ok {
		return
	}
	if e.Err != nil && !errors.Is(e.Err, sql.ErrNoRows) {
		// The type only: a driver's message may quote the values.
		span.SetAttributes(semconv.ErrorType(e.Err))
		span.SetStatus(codes.Error, "")
	}
	span.End()
}

// operation is the statement's verb. Raw statements report SELECT whatever
// they are, so theirs is read from the template's first word.
func operation(e *bun.QueryEvent) string {
	if _, raw := e.IQuery.(*bun.RawQuery); e.IQuery != nil && !raw {
		return e.IQuery.Operation()
	}
	verb, _, _ := strings.Cut(strings.TrimSpace(e.QueryTemplate), " ")
	if verb == "" || !isWord(verb) {
		return "QUERY"
	}
	return strings.ToUpper(verb)
}

// tableName is the query's main table when bun knows it and it is a plain
// name: a table expression could hold inlined values, so anything else is
// left out.
func tableName(e *bun.QueryEvent) string {
	if e.IQuery == nil {
		return ""
	}
	name, _, _ := strings.Cut(strings.TrimSpace(e.IQuery.GetTableName()), " ")
	name = strings.NewReplacer(`"`, "", "`", "").Replace(name)
	if !isIdentifier(name) {
		return ""
	}
	return name
}

func isWord(s string) bool {
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return true
}

// isIdentifier accepts schema.table names of letters, digits and
// underscores that start with a letter or underscore.
func isIdentifier(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') || s[0] == '.' {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '_' && r != '.' {
			return false
		}
	}
	return true
}
