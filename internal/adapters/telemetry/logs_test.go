package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestWithTraceIDs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(WithTraceIDs(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:  trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
	})
	traced := trace.ContextWithSpanContext(context.Background(), sc)

	log.InfoContext(traced, "traced")
	log.InfoContext(context.Background(), "not traced")
	log.WithGroup("g").InfoContext(traced, "grouped", "k", "v")

	var lines []map[string]any
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var line map[string]any
		if err := dec.Decode(&line); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
	}
	if len(lines) != 3 {
		t.Fatalf("%d lines", len(lines))
	}
	if lines[0][TraceIDKey] != "4bf92f3577b34da6a3ce929d0e0e4736" || lines[0][SpanIDKey] != "00f067aa0ba902b7" ||
		lines[0]["component"] != "test" {
		t.Errorf("traced line %v", lines[0])
	}
	if _, ok := lines[1][TraceIDKey]; ok {
		t.Errorf("untraced line %v has a trace id", lines[1])
	}
	// Handlers derived with WithGroup still add the ids (inside the group,
	// where slog puts a record's attributes).
	if g, _ := lines[2]["g"].(map[string]any); g[TraceIDKey] != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("grouped line %v", lines[2])
	}
}
