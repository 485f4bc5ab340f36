package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/chatd/chatd/internal/ports"
)

// streamChunk is the part of a chat.completion.chunk we read. It is decoded
// into again and again: fields that would allocate per chunk (object, model)
// are raw bytes whose storage encoding/json reuses.
type streamChunk struct {
	Object  json.RawMessage `json:"object"`
	Model   json.RawMessage `json:"model"`
	Choices []chunkChoice   `json:"choices"`
	Usage   *wireUsage      `json:"usage"`
	Error   json.RawMessage `json:"error"`
}

type chunkChoice struct {
	Delta        chunkDelta `json:"delta"`
	FinishReason string     `json:"finish_reason"` // null decodes as ""
}

type chunkDelta struct {
	Content          string `json:"content"`
	Reasoning        string `json:"reasoning"`         // OpenRouter, Ollama
	ReasoningContent string `json:"reasoning_content"` // DeepSeek, vLLM, llama.cpp
}

type wireUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	// Cost is OpenRouter's USD figure; raw, because a number in a string
	// must not fail the whole chunk.
	Cost json.RawMessage `json:"cost"`
}

// wireError is an error reported inside a 200 answer: OpenRouter's
// {"error": {"code", "message"}} and vLLM's {"object": "error", "message",
// "code"}.
type wireError struct {
	Error   json.RawMessage `json:"error"`
	Message string          `json:"message"`
	Code    json.RawMessage `json:"code"`
}

type wireErrorBody struct {
	Message string          `json:"message"`
	Code    json.RawMessage `json:"code"`
}

var (
	doneMarker    = []byte("[DONE]")
	jsonNull      = []byte("null")
	emptyString   = []byte(`""`)
	objectError   = []byte(`"error"`)
	errIncomplete = errors.New("the provider ended the reply before it was finished")
)

// upstreamError is a failure the provider reported in the stream.
type upstreamError struct {
	status  int    // the numeric code it gave, if any (OpenRouter mirrors HTTP codes)
	message string // its message, unsanitised: never shown as is
}

func (e *upstreamError) Error() string { return "upstream error chunk" }

// badChunkError is a chunk that is not the JSON it should be.
type badChunkError struct{ err error }

func (e *badChunkError) Error() string { return "unreadable chunk: " + e.err.Error() }
func (e *badChunkError) Unwrap() error { return e.err }

// deltaError carries the caller's own error out of onDelta, untouched.
type deltaError struct{ err error }

func (e *deltaError) Error() string { return e.err.Error() }
func (e *deltaError) Unwrap() error { return e.err }

// streamParser turns the events of one streamed reply into deltas and
// remembers how it ended.
type streamParser struct {
	sse     *sseReader
	json    chunkDecoder
	chunk   streamChunk
	onFirst func() // called once, before the first delta is handed over

	delivered bool   // a delta reached onDelta
	finish    string // the finish_reason, once one came
	model     []byte // the last served model named by a chunk
	usage     *ports.Usage
	textChars int   // runes of content and reasoning, for the estimate
	ran       bool  // run reads a reply once: after it ended, nothing more is read
	err       error // how it ended
}

func newStreamParser(r io.Reader, maxEvent int) *streamParser {
	return &streamParser{sse: newSSEReader(r, maxEvent)}
}

// run reads to the end of the reply. It returns nil only when the provider
// said the reply was finished; after it returned an error, nothing more is
// delivered.
func (p *streamParser) run(onDelta func(ports.Delta) error) error {
	if !p.ran {
		p.ran = true
		p.err = p.read(onDelta)
	}
	return p.err
}

func (p *streamParser) read(onDelta func(ports.Delta) error) error {
	for {
		data, err := p.sse.next()
		switch {
		case errors.Is(err, io.EOF):
			return p.end()
		case err != nil:
			// A broken connection after the finish_reason loses at most the
			// usage chunk: the reply itself is finished.
			if p.finish != "" && !errors.Is(err, errEventTooLarge) {
				return nil
			}
			return err
		case bytes.Equal(data, doneMarker):
			return p.end()
		case len(bytes.TrimSpace(data)) == 0:
			continue
		}
		if err := p.handle(data, onDelta); err != nil {
			return err
		}
	}
}

func (p *streamParser) end() error {
	if p.finish == "" {
		return errIncomplete
	}
	return nil
}

func (p *streamParser) handle(data []byte, onDelta func(ports.Delta) error) error {
	c := &p.chunk
	// Reset what encoding/json would otherwise leave from the last chunk:
	// it only writes the fields present, and reuses slice elements as is.
	c.Object, c.Model, c.Error, c.Usage = c.Object[:0], c.Model[:0], c.Error[:0], nil
	clear(c.Choices[:cap(c.Choices)])
	c.Choices = c.Choices[:0]
	if err := p.json.decode(data, c); err != nil {
		return &badChunkError{err: err}
	}
	if isSet(c.Error) || bytes.Equal(c.Object, objectError) {
		return readUpstreamError(data)
	}
	if isSet(c.Model) && !bytes.Equal(c.Model, emptyString) {
		p.model = append(p.model[:0], c.Model...)
	}
	if c.Usage != nil {
		p.usage = &ports.Usage{
			PromptTokens:     c.Usage.PromptTokens,
			CompletionTokens: c.Usage.CompletionTokens,
			CostUSD:          parseCost(c.Usage.Cost),
		}
	}
	if len(c.Choices) == 0 {
		return nil
	}
	ch := &c.Choices[0]
	if ch.FinishReason == "error" {
		// OpenRouter's error chunks carry "error" too and were handled above;
		// this is a provider that says no more than the reason.
		return &upstreamError{}
	}
	reasoning := ch.Delta.Reasoning
	if reasoning == "" {
		// Some gateways send both names with the same text: one is enough.
		reasoning = ch.Delta.ReasoningContent
	}
	if ch.Delta.Content != "" || reasoning != "" {
		if !p.delivered {
			p.delivered = true
			if p.onFirst != nil {
				p.onFirst()
			}
		}
		p.textChars += utf8.RuneCountInString(ch.Delta.Content) + utf8.RuneCountInString(reasoning)
		if err := onDelta(ports.Delta{Content: ch.Delta.Content, Reasoning: reasoning}); err != nil {
			return &deltaError{err: err}
		}
	}
	if ch.FinishReason != "" {
		p.finish = ch.FinishReason
	}
	return nil
}

// servedModel is the model the provider said served the reply, if it did.
func (p *streamParser) servedModel() string { return unquote(p.model) }

// readUpstreamError reads an error chunk or error body, whichever of the
// shapes it has; what it cannot read stays empty.
func readUpstreamError(data []byte) *upstreamError {
	var w wireError
	if err := json.Unmarshal(data, &w); err != nil {
		return &upstreamError{}
	}
	ue := &upstreamError{message: w.Message, status: codeNumber(w.Code)}
	if isSet(w.Error) {
		var body wireErrorBody
		if json.Unmarshal(w.Error, &body) == nil {
			ue.message, ue.status = body.Message, codeNumber(body.Code)
		} else {
			// {"error": "text"} (Ollama's native shape)
			var s string
			_ = json.Unmarshal(w.Error, &s)
			ue.message = s
		}
	}
	return ue
}

// codeNumber reads a numeric error code, given as a number or a string.
func codeNumber(raw json.RawMessage) int {
	n, err := strconv.Atoi(unquote(raw))
	if err != nil {
		return 0
	}
	return n
}

// parseCost reads a cost given as a number or a string; nonsense is no cost.
func parseCost(raw json.RawMessage) *float64 {
	if !isSet(raw) {
		return nil
	}
	f, err := strconv.ParseFloat(unquote(raw), 64)
	if err != nil || f < 0 {
		return nil
	}
	return &f
}

func isSet(raw json.RawMessage) bool { return len(raw) > 0 && !bytes.Equal(raw, jsonNull) }

// unquote turns a raw JSON scalar into text: the string's value, or the
// literal of a number.
func unquote(raw json.RawMessage) string {
	if !isSet(raw) {
		return ""
	}
	if raw[0] != '"' {
		return string(raw)
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}
