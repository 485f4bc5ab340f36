package llmsim

import (
	"context"
	"net/http"
	"testing"
)

// discardWriter is a flushable ResponseWriter that keeps nothing.
type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Flush()                      {}

func newDiscardStream() *StreamWriter {
	return newStreamWriter(context.Background(), &discardWriter{header: http.Header{}}, "chatcmpl-sim-1", "sim-small", 1)
}

func TestChunkDoesNotAllocate(t *testing.T) {
	w := newDiscardStream()
	w.Chunk("warm up ")
	if n := testing.AllocsPerRun(200, func() { w.Chunk("token \"q\" ") }); n != 0 {
		t.Fatalf("%v allocations per chunk", n)
	}
}

func BenchmarkChunk(b *testing.B) {
	w := newDiscardStream()
	b.ReportAllocs()
	for b.Loop() {
		w.Chunk("token ")
	}
}
