package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Frame types the scenarios look at.
const (
	typeDelta     = "message.delta"
	typeCreated   = "message.created"
	typeCompleted = "message.completed"
	typeFailed    = "message.failed"
	typeCancelled = "message.cancelled"
	typeSnapshot  = "session.snapshot"
	typeError     = "error"
)

// frame is one chatd event frame, parsed. For a delta, messageID and delta
// point into the payload (or a scratch buffer) and are valid only during
// the callback.
type frame struct {
	typ       string
	seq       int64
	messageID []byte
	delta     []byte
	index     int

	// message.* frames
	role    string
	status  string
	content string
	// session.snapshot
	lastSeq int64
	// error
	code   string
	detail string
}

// isFinal reports a reply's last event.
func (f *frame) isFinal() bool {
	return f.typ == typeCompleted || f.typ == typeFailed || f.typ == typeCancelled
}

// frameParser turns payloads into frames. A payload is one frame, several
// frames separated by newlines, or a JSON array of frames (servers that
// batch several messages per WebSocket frame). Deltas take a fast path that
// does not allocate; other frames go through encoding/json.
type frameParser struct {
	f       frame
	scratch []byte
}

var (
	keySeq       = []byte(`"seq":`)
	keyMessageID = []byte(`"message_id":"`)
	keyDelta     = []byte(`"delta":"`)
	keyIndex     = []byte(`"index":`)
	deltaMarker  = []byte(`"type":"message.delta"`)
)

// parse calls fn for every frame in payload, in order.
func (p *frameParser) parse(payload []byte, fn func(*frame) error) error {
	payload = bytes.TrimSpace(payload)
	if len(payload) == 0 {
		return nil
	}
	if payload[0] == '[' {
		return p.parseArray(payload, fn)
	}
	for len(payload) > 0 {
		one, rest, _ := bytes.Cut(payload, []byte("\n"))
		payload = rest
		one = bytes.TrimSpace(one)
		if len(one) == 0 {
			continue
		}
		if err := p.one(one, fn); err != nil {
			return err
		}
	}
	return nil
}

// parseArray splits a JSON array of objects at its top level.
func (p *frameParser) parseArray(payload []byte, fn func(*frame) error) error {
	depth, start, inString, escaped := 0, -1, false, false
	for i, c := range payload {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{':
			if depth == 1 {
				start = i
			}
			depth++
		case c == '[':
			depth++
		case c == '}':
			depth--
			if depth == 1 && start >= 0 {
				if err := p.one(payload[start:i+1], fn); err != nil {
					return err
				}
				start = -1
			}
		case c == ']':
			depth--
		}
	}
	if depth != 0 {
		return fmt.Errorf("unbalanced frame array: %.80s", payload)
	}
	return nil
}

func (p *frameParser) one(b []byte, fn func(*frame) error) error {
	if bytes.Contains(b, deltaMarker) {
		ok, err := p.fastDelta(b)
		if err != nil {
			return err
		}
		if ok {
			return fn(&p.f)
		}
	}
	if err := p.slow(b); err != nil {
		return err
	}
	return fn(&p.f)
}

// fastDelta reads a message.delta frame by its keys. A key pattern such as
// `"index":` cannot occur inside a JSON string (its quotes would be
// escaped), so searching for it finds the key. It reports false when the
// frame does not have the expected shape.
func (p *frameParser) fastDelta(b []byte) (bool, error) {
	p.f = frame{typ: typeDelta}
	if i := bytes.Index(b, keySeq); i >= 0 {
		n, ok := leadingInt(b[i+len(keySeq):])
		if !ok {
			return false, nil
		}
		p.f.seq = int64(n)
	}
	i := bytes.Index(b, keyIndex)
	if i < 0 {
		return false, nil
	}
	n, ok := leadingInt(b[i+len(keyIndex):])
	if !ok {
		return false, nil
	}
	p.f.index = n
	id, ok := stringAfter(b, keyMessageID)
	if !ok {
		return false, nil
	}
	p.f.messageID = id
	i = bytes.Index(b, keyDelta)
	if i < 0 {
		return false, nil
	}
	raw, escapes, ok := jsonStringBody(b[i+len(keyDelta):])
	if !ok {
		return false, nil
	}
	if !escapes {
		p.f.delta = raw
		return true, nil
	}
	// Rare (quotes, non-ASCII escapes): let encoding/json unescape it.
	var s string
	if err := json.Unmarshal(b[i+len(keyDelta)-1:i+len(keyDelta)+len(raw)+1], &s); err != nil {
		return false, fmt.Errorf("delta string: %w", err)
	}
	p.scratch = append(p.scratch[:0], s...)
	p.f.delta = p.scratch
	return true, nil
}

// wireFrame is every field the scenarios read, for encoding/json.
type wireFrame struct {
	Type string `json:"type"`
	Seq  int64  `json:"seq"`
	Data struct {
		ID        string `json:"id"`
		Role      string `json:"role"`
		Status    string `json:"status"`
		Content   string `json:"content"`
		MessageID string `json:"message_id"`
		Delta     string `json:"delta"`
		Index     int    `json:"index"`
		LastSeq   int64  `json:"last_seq"`
		Code      string `json:"code"`
		Detail    string `json:"detail"`
	} `json:"data"`
}

func (p *frameParser) slow(b []byte) error {
	var w wireFrame
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("frame: %w: %.120s", err, b)
	}
	if w.Type == "" {
		return errors.New("frame without a type: " + string(b[:min(len(b), 120)]))
	}
	p.f = frame{typ: w.Type, seq: w.Seq, index: w.Data.Index, role: w.Data.Role, status: w.Data.Status,
		content: w.Data.Content, lastSeq: w.Data.LastSeq, code: w.Data.Code, detail: w.Data.Detail}
	switch w.Type {
	case typeDelta:
		p.f.messageID, p.f.delta = []byte(w.Data.MessageID), []byte(w.Data.Delta)
	default:
		p.f.messageID = []byte(w.Data.ID)
	}
	return nil
}

// leadingInt parses the integer at the start of b.
func leadingInt(b []byte) (int, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	n, digits := 0, 0
	for _, c := range b {
		if c < '0' || c > '9' || digits > 18 {
			break
		}
		n = n*10 + int(c-'0')
		digits++
	}
	if neg {
		n = -n
	}
	return n, digits > 0
}

// stringAfter returns the body of the JSON string that follows key (which
// ends with the opening quote); false when key is missing or the string has
// escapes (ids never do).
func stringAfter(b, key []byte) ([]byte, bool) {
	i := bytes.Index(b, key)
	if i < 0 {
		return nil, false
	}
	raw, escapes, ok := jsonStringBody(b[i+len(key):])
	return raw, ok && !escapes
}

// jsonStringBody returns the bytes up to the closing quote of a JSON string
// whose opening quote was just consumed, and whether they hold escapes.
func jsonStringBody(b []byte) (raw []byte, escapes, ok bool) {
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '\\':
			escapes = true
			i++
		case '"':
			return b[:i], escapes, true
		}
	}
	return nil, false, false
}
