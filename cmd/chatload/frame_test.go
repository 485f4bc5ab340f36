package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// encodeFrame renders a frame the way chatd's wire package does (encoding/json).
func encodeFrame(t *testing.T, typ string, seq int64, data any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"type": typ, "session_id": "s1", "seq": seq, "data": data})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func deltaData(id, text string, index int) map[string]any {
	return map[string]any{"message_id": id, "delta": text, "index": index}
}

func collect(t *testing.T, payload string) []frame {
	t.Helper()
	var p frameParser
	var out []frame
	err := p.parse([]byte(payload), func(f *frame) error {
		c := *f
		c.messageID = append([]byte(nil), f.messageID...)
		c.delta = append([]byte(nil), f.delta...)
		out = append(out, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeltaFramesParseOnTheFastPathAndMatchEncodingJSON(t *testing.T) {
	for _, text := range []string{"plain ", `You wrote "quoted".`, "tab\tnewline\n<&> é 😀 \u2028", `\"index\":7,"delta":"x`, ""} {
		payload := encodeFrame(t, typeDelta, 42, deltaData("m-1", text, 3))
		got := collect(t, payload)
		if len(got) != 1 {
			t.Fatalf("%q: %d frames", text, len(got))
		}
		f := got[0]
		if f.typ != typeDelta || f.seq != 42 || string(f.messageID) != "m-1" || string(f.delta) != text || f.index != 3 {
			t.Errorf("%q parsed as %+v (delta %q)", text, f, f.delta)
		}
	}
}

func TestDeltaFieldOrderDoesNotMatter(t *testing.T) {
	payload := `{"data":{"index":9,"delta":"b\"c","message_id":"m"},"seq":5,"type":"message.delta"}`
	f := collect(t, payload)[0]
	if f.index != 9 || string(f.delta) != `b"c` || f.seq != 5 || string(f.messageID) != "m" {
		t.Fatalf("%+v %q", f, f.delta)
	}
}

func TestOtherFramesGoThroughEncodingJSON(t *testing.T) {
	completed := encodeFrame(t, typeCompleted, 7, map[string]any{"id": "m-2", "role": "assistant", "status": "completed",
		"content": `the "whole" text, with "type":"message.delta" inside`})
	f := collect(t, completed)[0]
	if f.typ != typeCompleted || f.seq != 7 || string(f.messageID) != "m-2" || f.status != "completed" || !f.isFinal() ||
		!strings.Contains(f.content, `"type":"message.delta"`) {
		t.Fatalf("%+v", f)
	}
	snap := collect(t, `{"type":"session.snapshot","session_id":"s","data":{"last_seq":99,"streaming":[]}}`)[0]
	if snap.typ != typeSnapshot || snap.lastSeq != 99 {
		t.Fatalf("%+v", snap)
	}
}

func TestBatchedPayloadsYieldEveryFrameInOrder(t *testing.T) {
	a := encodeFrame(t, typeDelta, 1, deltaData("m", "a", 0))
	b := encodeFrame(t, typeDelta, 2, deltaData("m", "b]}{", 1))
	c := encodeFrame(t, typeCompleted, 3, map[string]any{"id": "m", "status": "completed", "content": "ab]}{"})
	for name, payload := range map[string]string{
		"newlines": a + "\n" + b + "\n" + c + "\n",
		"array":    "[" + a + "," + b + ",\n" + c + "]",
	} {
		got := collect(t, payload)
		if len(got) != 3 || string(got[0].delta) != "a" || string(got[1].delta) != "b]}{" || got[2].typ != typeCompleted {
			t.Errorf("%s: %+v", name, got)
		}
	}
}

func TestFastDeltaDoesNotAllocate(t *testing.T) {
	payload := []byte(`{"type":"message.delta","session_id":"s","seq":12345,"data":{"message_id":"0199-abc","delta":"token ","index":17}}`)
	var p frameParser
	n := 0
	fn := func(f *frame) error { n += len(f.delta); return nil }
	allocs := testing.AllocsPerRun(100, func() { _ = p.parse(payload, fn) })
	if allocs != 0 {
		t.Fatalf("%v allocations per delta frame", allocs)
	}
}

func BenchmarkParseDelta(b *testing.B) {
	payload := []byte(`{"type":"message.delta","session_id":"0199b7e2-7c1a-7d4e-9d55-1f7c2b9e8a10","seq":1764110000001234,"data":{"message_id":"0199b7e2-7c1a-7d4e-9d55-1f7c2b9e8a11","delta":"token ","index":17}}`)
	var p frameParser
	fn := func(*frame) error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		_ = p.parse(payload, fn)
	}
}
