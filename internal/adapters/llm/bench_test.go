package llm

import (
	"io"
	"testing"

	"github.com/chatd/chatd/internal/ports"
)

// tokenStream is an endless-looking SSE body: n OpenRouter-shaped chunks of
// one token each, then a finish chunk and [DONE]. It is generated as it is
// read so that memory stays flat whatever b.N is.
type tokenStream struct {
	chunk []byte
	n     int
	off   int
	tail  []byte
}

func (s *tokenStream) Read(p []byte) (int, error) {
	total := 0
	for len(p) > 0 {
		if s.n == 0 {
			if len(s.tail) == 0 {
				if total == 0 {
					return 0, io.EOF
				}
				return total, nil
			}
			c := copy(p, s.tail)
			s.tail, p, total = s.tail[c:], p[c:], total+c
			continue
		}
		c := copy(p, s.chunk[s.off:])
		s.off += c
		p, total = p[c:], total+c
		if s.off == len(s.chunk) {
			s.off = 0
			s.n--
		}
	}
	return total, nil
}

// BenchmarkStreamTokens measures the reader's cost per relayed token: one
// op is one chunk read, decoded and handed to onDelta.
func BenchmarkStreamTokens(b *testing.B) {
	chunk := []byte(`data: {"id":"gen-1747000000-AbCdEfGhIjKlMnOpQrSt","provider":"OpenAI","model":"openai/gpt-4o","object":"chat.completion.chunk","created":1747000000,"choices":[{"index":0,"delta":{"role":"assistant","content":" token"},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}` + "\n\n")
	src := &tokenStream{chunk: chunk, n: b.N, tail: []byte(finishEvent("stop") + usageEvent(10, 10) + doneEvent)}
	p := newStreamParser(src, maxEventBytes)
	got := 0
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	b.ResetTimer()
	err := p.run(func(d ports.Delta) error {
		got += len(d.Content)
		return nil
	})
	b.StopTimer()
	if err != nil || got != 6*b.N {
		b.Fatalf("err %v, %d bytes of text for %d tokens", err, got, b.N)
	}
}
