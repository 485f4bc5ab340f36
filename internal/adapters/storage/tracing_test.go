package storage

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
)

var (
	recorderOnce sync.Once
	recorder     *tracetest.SpanRecorder
	testTracer   trace.Tracer
)

// useRecorder installs a recording provider as OpenTelemetry's global, which
// the hook's tracer delegates to once it is set (once per process).
func useRecorder() {
	recorderOnce.Do(func() {
		recorder = tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
		otel.SetTracerProvider(tp)
		testTracer = tp.Tracer("test")
	})
}

// spansUnder are the ended spans whose parent is root.
func spansUnder(root trace.SpanContext) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range recorder.Ended() {
		if s.Parent().SpanID() == root.SpanID() {
			out = append(out, s)
		}
	}
	return out
}

func TestQuerySpans(t *testing.T) {
	useRecorder()
	db, err := Open(context.Background(), Config{URL: "sqlite://" + filepath.Join(t.TempDir(), "chat.db"), TraceQueries: true}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	before := len(recorder.Ended())
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(recorder.Ended()) - before; n != 0 {
		t.Errorf("%d spans for queries made under no span (the migration)", n)
	}

	ctx, root := testTracer.Start(context.Background(), "request")
	const canary = "canary-value-41d3@example.com"
	n, err := db.read.NewSelect().Model((*userRow)(nil)).Where("email = ?", canary).Count(ctx)
	if err != nil || n != 0 {
		t.Fatalf("count: %d, %v", n, err)
	}
	if _, err := db.write.NewRaw("UPDATE users SET display_name = ? WHERE email = ?", canary, canary).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	err = db.inWriteTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewRaw("DELETE FROM users WHERE email = ?", canary).Exec(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.read.NewRaw("SELECT ? FROM no_such_table", canary).Scan(ctx, new(string)); err == nil {
		t.Fatal("a query on a missing table succeeded")
	}
	root.End()

	// Children of the request, in order: a transaction's statements are not
	// hung under its BEGIN.
	var got []string
	for _, s := range spansUnder(root.SpanContext()) {
		a := map[string]string{}
		for _, kv := range s.Attributes() {
			a[string(kv.Key)] = kv.Value.String()
			if strings.Contains(kv.Value.String(), "canary") {
				t.Errorf("span %q: %s holds a query argument", s.Name(), kv.Key)
			}
		}
		if a["db.system.name"] != "sqlite" || a["db.operation.name"] == "" || s.SpanKind() != trace.SpanKindClient {
			t.Errorf("span %q: %v, kind %v", s.Name(), a, s.SpanKind())
		}
		if s.Status().Code == codes.Error {
			if a["error.type"] == "" || strings.Contains(s.Status().Description, "canary") {
				t.Errorf("failed span %q: error.type %q, status %q", s.Name(), a["error.type"], s.Status().Description)
			}
			got = append(got, s.Name()+" (failed)")
			continue
		}
		got = append(got, s.Name())
	}
	want := []string{"SELECT users", "UPDATE", "BEGIN", "DELETE", "COMMIT", "SELECT (failed)"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("spans under the request: %q, want %q", got, want)
	}
	for _, s := range spansUnder(root.SpanContext()) {
		if s.EndTime().Before(s.StartTime()) || s.EndTime().Sub(s.StartTime()) > time.Minute {
			t.Errorf("span %q from %v to %v", s.Name(), s.StartTime(), s.EndTime())
		}
	}
}
