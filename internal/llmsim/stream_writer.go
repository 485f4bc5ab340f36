package llmsim

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
)

var errAnswered = errors.New("llmsim: the response was already answered with a status")

// StreamWriter writes one chat-completions response: SSE chunks in the
// OpenAI shape, comments, raw bytes, or a plain status with a body. Every call
// writes and flushes at once. The first stream write sends "200 OK" with
// Content-Type text/event-stream. After a write fails (the client went away)
// later calls do nothing; Err reports the failure. A StreamWriter belongs to
// one handler goroutine: it is not safe for concurrent use.
type StreamWriter struct {
	ctx    context.Context
	id     string
	rw     http.ResponseWriter
	rc     *http.ResponseController
	prefix []byte // `data: {"id":…,"object":"chat.completion.chunk","created":…,"model":…,"choices":[`
	buf    []byte // reused for every chunk

	status    int  // 0 until the response began
	roleSent  bool // the role rides on the first delta
	terminal  bool // the response reached its intended end (Done, Status, or a deliberate EOF)
	hijacked  bool
	err       error
	content   int // content chunks written
	reasoning int // reasoning chunks written
}

func newStreamWriter(ctx context.Context, rw http.ResponseWriter, id, model string, created int64) *StreamWriter {
	p := make([]byte, 0, 96+len(id)+len(model))
	p = append(p, `data: {"id":`...)
	p = appendJSONString(p, id)
	p = append(p, `,"object":"chat.completion.chunk","created":`...)
	p = strconv.AppendInt(p, created, 10)
	p = append(p, `,"model":`...)
	p = appendJSONString(p, model)
	p = append(p, `,"choices":[`...)
	return &StreamWriter{ctx: ctx, id: id, rw: rw, rc: http.NewResponseController(rw), prefix: p, buf: make([]byte, 0, 512)}
}

// Context is done when the client went away or the Server is closing.
func (w *StreamWriter) Context() context.Context { return w.ctx }

// Err is the first write failure, if any.
func (w *StreamWriter) Err() error { return w.err }

// Header is the response header map, to change before the first write
// (for example Retry-After before Status).
func (w *StreamWriter) Header() http.Header { return w.rw.Header() }

// Open sends the stream's headers now, before any chunk.
func (w *StreamWriter) Open() { w.send(nil) }

// Chunk sends a content delta.
func (w *StreamWriter) Chunk(content string) {
	if w.delta(`"content":`, content) {
		w.content++
	}
}

// Reasoning sends a delta.reasoning chunk (OpenRouter, Ollama).
func (w *StreamWriter) Reasoning(text string) {
	if w.delta(`"reasoning":`, text) {
		w.reasoning++
	}
}

// ReasoningContent sends a delta.reasoning_content chunk (DeepSeek, vLLM, llama.cpp).
func (w *StreamWriter) ReasoningContent(text string) {
	if w.delta(`"reasoning_content":`, text) {
		w.reasoning++
	}
}

func (w *StreamWriter) reasoningIn(field, text string) {
	if field == ReasoningContentField {
		w.ReasoningContent(text)
		return
	}
	w.Reasoning(text)
}

// delta writes one delta chunk; field is the quoted key and its colon.
func (w *StreamWriter) delta(field, text string) bool {
	b := append(w.buf[:0], w.prefix...)
	b = append(b, `{"index":0,"delta":{`...)
	if !w.roleSent {
		b = append(b, `"role":"assistant",`...)
	}
	b = append(b, field...)
	b = appendJSONString(b, text)
	b = append(b, "},\"finish_reason\":null}]}\n\n"...)
	w.buf = b
	if !w.send(b) {
		return false
	}
	w.roleSent = true
	return true
}

// Finish sends a chunk with an empty delta and this finish_reason.
func (w *StreamWriter) Finish(reason string) {
	b := append(w.buf[:0], w.prefix...)
	b = append(b, `{"index":0,"delta":{},"finish_reason":`...)
	b = appendJSONString(b, reason)
	b = append(b, "}]}\n\n"...)
	w.buf = b
	w.send(b)
}

// Usage sends the usage chunk: "choices": [] and the token counts.
func (w *StreamWriter) Usage(prompt, completion int) {
	b := append(w.buf[:0], w.prefix...)
	b = append(b, `],"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(prompt), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(completion), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(prompt+completion), 10)
	b = append(b, "}}\n\n"...)
	w.buf = b
	w.send(b)
}

// ErrorChunk sends an OpenRouter-style mid-stream error: a chunk with a
// top-level "error": {code, message} and finish_reason "error".
func (w *StreamWriter) ErrorChunk(code int, msg string) {
	b := append(w.buf[:0], w.prefix...)
	b = append(b, `{"index":0,"delta":{"content":""},"finish_reason":"error"}],"error":{"code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, msg)
	b = append(b, "}}\n\n"...)
	w.buf = b
	w.send(b)
}

// Done sends "data: [DONE]", the end of a stream.
func (w *StreamWriter) Done() {
	if w.send([]byte("data: [DONE]\n\n")) {
		w.terminal = true
	}
}

// Comment sends an SSE comment line (": text") and a blank line.
func (w *StreamWriter) Comment(text string) {
	b := append(w.buf[:0], ": "...)
	b = append(b, text...)
	b = append(b, "\n\n"...)
	w.buf = b
	w.send(b)
}

// Raw writes s verbatim into the stream: include the line endings you want
// ("data:{...}\r\n\r\n" to test a tolerant reader).
func (w *StreamWriter) Raw(s string) {
	w.send([]byte(s))
}

// Status answers without streaming: this status and body. A body starting
// with '{' is sent as application/json unless Content-Type was set. It does
// nothing once the stream began.
func (w *StreamWriter) Status(code int, body string) {
	if w.err != nil || w.hijacked {
		return
	}
	if w.status != 0 {
		w.err = errAnswered
		return
	}
	h := w.rw.Header()
	if h.Get("Content-Type") == "" {
		if strings.HasPrefix(strings.TrimSpace(body), "{") {
			h.Set("Content-Type", "application/json")
		} else {
			h.Set("Content-Type", "text/plain; charset=utf-8")
		}
	}
	w.status = code
	w.terminal = true
	w.rw.WriteHeader(code)
	if _, err := w.rw.Write([]byte(body)); err != nil {
		w.err = err
	}
}

// ResetConnection hijacks the connection and resets it (SO_LINGER 0): the
// client reads ECONNRESET. Where hijacking is impossible (HTTP/2) it aborts
// the handler with http.ErrAbortHandler instead.
func (w *StreamWriter) ResetConnection() { w.hangUp(true) }

// CloseConnection hijacks the connection and closes it normally, without
// ending the HTTP response.
func (w *StreamWriter) CloseConnection() { w.hangUp(false) }

func (w *StreamWriter) hangUp(reset bool) {
	if w.hijacked {
		return
	}
	conn, _, err := w.rc.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	w.hijacked = true
	if reset {
		raw := conn
		if tc, ok := conn.(interface{ NetConn() net.Conn }); ok {
			raw = tc.NetConn()
		}
		if tcp, ok := raw.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0)
		}
	}
	_ = conn.Close()
}

// send writes b (after the stream headers on first use) and flushes.
func (w *StreamWriter) send(b []byte) bool {
	if w.err != nil || w.hijacked {
		return false
	}
	if w.status == 0 {
		h := w.rw.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no")
		w.status = http.StatusOK
		w.rw.WriteHeader(http.StatusOK)
	} else if w.terminal && w.status != http.StatusOK {
		w.err = errAnswered
		return false
	}
	if len(b) > 0 {
		if _, err := w.rw.Write(b); err != nil {
			w.err = err
			return false
		}
	}
	if err := w.rc.Flush(); err != nil {
		w.err = err
		return false
	}
	return true
}
