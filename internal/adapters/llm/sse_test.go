package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/chatd/chatd/internal/ports"
)

// events reads every event of raw; the error is the one that ended it.
func events(r io.Reader, maxEvent int) ([]string, error) {
	s := newSSEReader(r, maxEvent)
	var out []string
	for {
		data, err := s.next()
		if err != nil {
			return out, err
		}
		out = append(out, string(data))
	}
}

func TestSSEReader(t *testing.T) {
	long := strings.Repeat("z", 300<<10)
	cases := []struct {
		name string
		raw  string
		want []string
	}{
		{"one event", "data: a\n\n", []string{"a"}},
		{"no space", "data:a\n\n", []string{"a"}},
		{"only one space stripped", "data:  a\n\n", []string{" a"}},
		{"CRLF", "data: a\r\n\r\ndata: b\r\n\r\n", []string{"a", "b"}},
		{"comments", ": ping\n\n:\ndata: a\n: inside\n\n", []string{"a"}},
		{"multi-line", "data: a\ndata:\ndata: b\n\n", []string{"a\n\nb"}},
		{"blank lines between", "\n\n\ndata: a\n\n\n\ndata: b\n\n", []string{"a", "b"}},
		{"other fields", "event: x\nid: 3\nretry: 5\ndata: a\nfoo\n\n", []string{"a"}},
		{"field without colon", "data\n\n", []string{""}},
		{"wrong case is another field", "DATA: a\n\ndata: b\n\n", []string{"b"}},
		{"colon in value", "data: {\"a\":1}\n\n", []string{`{"a":1}`}},
		{"long line", "data: " + long + "\n\n", []string{long}},
		{"complete lines at EOF", "data: a\n\ndata: b\n", []string{"a", "b"}},
		{"partial line at EOF dropped", "data: a\n\ndata: b", []string{"a"}},
		{"BOM", "\xEF\xBB\xBFdata: a\n\n", []string{"a"}},
		{"empty", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range map[string]io.Reader{
				"whole":       strings.NewReader(tc.raw),
				"byte a time": iotest.OneByteReader(strings.NewReader(tc.raw)),
				"data+EOF":    iotest.DataErrReader(strings.NewReader(tc.raw)),
			} {
				got, err := events(r, maxEventBytes)
				if !errors.Is(err, io.EOF) {
					t.Fatalf("ended with %v, want EOF", err)
				}
				if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
					t.Fatalf("events = %.80q, want %.80q", got, tc.want)
				}
			}
		})
	}
}

func TestSSEReaderCaps(t *testing.T) {
	for name, raw := range map[string]string{
		"one long line":        "data: " + strings.Repeat("x", 200) + "\n\n",
		"many lines":           strings.Repeat("data: "+strings.Repeat("x", 30)+"\n", 10) + "\n",
		"long comment":         ":" + strings.Repeat("x", 300) + "\n\n",
		"long line, no ending": "data: " + strings.Repeat("x", 300),
	} {
		t.Run(name, func(t *testing.T) {
			s := newSSEReader(strings.NewReader("data: ok\n\n"+raw+"data: after\n\n"), 100)
			if data, err := s.next(); err != nil || string(data) != "ok" {
				t.Fatalf("first event = %q, %v", data, err)
			}
			for range 2 { // sticky
				if data, err := s.next(); !errors.Is(err, errEventTooLarge) || data != nil {
					t.Fatalf("next = %q, %v; want errEventTooLarge", data, err)
				}
			}
		})
	}
}

func TestSSEReaderReadError(t *testing.T) {
	boom := errors.New("connection reset by peer")
	r := io.MultiReader(strings.NewReader("data: a\n\ndata: b\n"), iotest.ErrReader(boom))
	got, err := events(r, maxEventBytes)
	if !errors.Is(err, boom) || len(got) != 1 {
		t.Fatalf("events %q, err %v: a broken stream must not deliver its unfinished event", got, err)
	}
}

// FuzzStreamReader feeds arbitrary bytes to the SSE reader and the chunk
// parser. Neither may panic; reading in one piece or byte by byte must give
// the same result; an error is final (nothing more is read or delivered
// after it); a success means the provider sent a finish_reason.
func FuzzStreamReader(f *testing.F) {
	for _, seed := range []string{
		"",
		doneEvent,
		contentEvent("Hel") + contentEvent("lo") + finishEvent("stop") + usageEvent(3, 2) + doneEvent,
		strings.ReplaceAll(contentEvent("a")+finishEvent("stop"), "\n", "\r\n"),
		": OPENROUTER PROCESSING\n\ndata:" + strings.TrimPrefix(contentEvent("x"), "data: "),
		"data: {\"choices\":[{\"delta\":\n" + `data: {"content":"a"}}]}` + "\n\n",
		contentEvent("a") + `data: {"error":{"code":502,"message":"boom"},"choices":[{"delta":{},"finish_reason":"error"}]}` + "\n\n" + contentEvent("b"),
		contentEvent("a") + `data: {"object":"error","message":"oom","code":500}` + "\n\n" + contentEvent("b") + finishEvent("stop"),
		event(chunkWith(map[string]any{"reasoning": "r"}, nil)) + event(chunkWith(map[string]any{"reasoning_content": "rc"}, "length")),
		contentEvent("a") + "data: {nope\n\n" + contentEvent("b") + finishEvent("stop"),
		"data: " + strings.Repeat("q", 5000) + "\n\n",
		`data: {"choices":[{"delta":{"content":"x"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"cost":"1e-5"}}` + "\n",
		`data: {"choices":{}}` + "\n\n",
		"data: [DONE]\r\n\r\n" + contentEvent("after done"),
		"\xEF\xBB\xBF" + contentEvent("\u00e9\u4e16") + "event: x\nid: 1\n\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const maxEvent = 4096
		// The reader: whole and byte by byte agree; errors are sticky.
		a, errA := events(bytes.NewReader(data), maxEvent)
		b, errB := events(iotest.OneByteReader(bytes.NewReader(data)), maxEvent)
		if strings.Join(a, "\x00") != strings.Join(b, "\x00") || len(a) != len(b) || !errors.Is(errA, errB) && errA.Error() != errB.Error() {
			t.Fatalf("whole: %q %v; byte by byte: %q %v", a, errA, b, errB)
		}

		// The parser.
		var whole, bytewise strings.Builder
		p := newStreamParser(bytes.NewReader(data), maxEvent)
		err := p.run(func(d ports.Delta) error {
			if d.Content == "" && d.Reasoning == "" {
				t.Fatal("empty delta delivered")
			}
			whole.WriteString(d.Content + "\x00" + d.Reasoning + "\x01")
			return nil
		})
		if err == nil && p.finish == "" {
			t.Fatal("success without a finish_reason")
		}
		if err != nil {
			if again := p.run(func(ports.Delta) error { t.Fatal("text delivered after an error"); return nil }); again == nil {
				t.Fatal("a failed reply succeeded when read again")
			}
		}
		p2 := newStreamParser(iotest.OneByteReader(bytes.NewReader(data)), maxEvent)
		err2 := p2.run(func(d ports.Delta) error {
			bytewise.WriteString(d.Content + "\x00" + d.Reasoning + "\x01")
			return nil
		})
		if whole.String() != bytewise.String() || (err == nil) != (err2 == nil) {
			t.Fatalf("whole: %q, %v; byte by byte: %q, %v", whole.String(), err, bytewise.String(), err2)
		}

		// The reused decoder accepts exactly what json.Unmarshal accepts, event
		// after event, and neither a failure nor a success poisons the next.
		var cd chunkDecoder
		for _, ev := range append(a, string(data)) {
			var viaUnmarshal, viaDecoder streamChunk
			errU := json.Unmarshal([]byte(ev), &viaUnmarshal)
			errD := cd.decode([]byte(ev), &viaDecoder)
			if (errU == nil) != (errD == nil) {
				t.Fatalf("%q: json.Unmarshal: %v; chunkDecoder: %v", ev, errU, errD)
			}
			if errU == nil && !reflect.DeepEqual(viaUnmarshal, viaDecoder) {
				t.Fatalf("%q: json.Unmarshal: %+v; chunkDecoder: %+v", ev, viaUnmarshal, viaDecoder)
			}
		}
		var next streamChunk
		if err := cd.decode([]byte(`{"model":"m","choices":[{"delta":{"content":"ok"}}]}`), &next); err != nil ||
			len(next.Choices) != 1 || next.Choices[0].Delta.Content != "ok" {
			t.Fatalf("the chunk after %q decoded as %+v, %v", data, next, err)
		}

		// A caller that stops after its first delta gets its own error back
		// and no second delta.
		stop := errors.New("stop")
		n := 0
		p3 := newStreamParser(bytes.NewReader(data), maxEvent)
		err3 := p3.run(func(ports.Delta) error { n++; return stop })
		if n > 1 || (n == 1) != errors.Is(err3, stop) {
			t.Fatalf("onDelta called %d times, err %v", n, err3)
		}
	})
}
