// Package transfer reads and writes conversation files: chatd's own export
// format (chatd.v1) both ways, and the exports of ChatGPT, Open WebUI and
// LibreChat for import. Readers turn each conversation into the domain's
// neutral domain.ImportedConversation; the domain applies the rules.
package transfer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/chatd/chatd/internal/domain"
)

// Source names, as imported messages' metadata records them.
const (
	SourceChatGPT   = "chatgpt"
	SourceOpenWebUI = "openwebui"
	SourceLibreChat = "librechat"
)

// expectedFormats is what a 422 names when the body is JSON of no known format.
const expectedFormats = "expected chatd's export ({\"format\": \"chatd.v1\", \"sessions\": [...]}), " +
	"a ChatGPT conversations.json (an array of conversations with \"mapping\" and \"current_node\"), " +
	"an Open WebUI chat export (chats with \"chat\": {\"history\": {\"messages\", \"currentId\"}}) " +
	"or a LibreChat conversation export ({\"conversationId\", \"messages\": [...]})"

// MalformedError reports a body that is not JSON (or not one JSON value).
type MalformedError struct{ Detail string }

func (e *MalformedError) Error() string { return e.Detail }

func malformed(err error) error {
	var syntax *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF):
		return &MalformedError{Detail: "the body is empty; send an export file"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &MalformedError{Detail: "the body is not valid JSON: it ends in the middle of a value"}
	case errors.As(err, &syntax):
		return &MalformedError{Detail: fmt.Sprintf("the body is not valid JSON (at byte %d): %v", syntax.Offset, syntax)}
	}
	// Anything else is the transport (a body over the limit, a client gone).
	return err
}

func unknownFormat(what string) error {
	return domain.Invalid("unknown-import-format", what+"; "+expectedFormats)
}

// Decode reads an export file, one conversation at a time: an array is
// decoded element by element, and chatd's own "sessions" session by session,
// so memory holds the neutral conversations and not the file's JSON tree.
// It answers *MalformedError for a body that is not JSON, a domain Invalid
// error ("unknown-import-format") for JSON of no known format, and any
// reader error (such as *http.MaxBytesError) as it is. A conversation it
// cannot read is returned with Unreadable set, so that it is skipped alone.
func Decode(r io.Reader) ([]domain.ImportedConversation, error) {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return nil, malformed(err)
	}
	var out []domain.ImportedConversation
	switch tok {
	case json.Delim('['):
		out, err = decodeArray(dec)
	case json.Delim('{'):
		out, err = decodeObject(dec)
	default:
		err = unknownFormat("the body is a JSON " + jsonKind(tok) + ", not an export file")
	}
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err == nil {
			return nil, &MalformedError{Detail: "the body holds more than one JSON value"}
		}
		return nil, malformed(err)
	}
	return out, nil
}

func jsonKind(tok json.Token) string {
	switch tok.(type) {
	case string:
		return "string"
	case float64, json.Number:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return "value"
}

// decodeArray reads a list of conversations (ChatGPT, Open WebUI, or several
// LibreChat ones). The first element decides that the file is an export;
// a later element of no known shape is skipped alone.
func decodeArray(dec *json.Decoder) ([]domain.ImportedConversation, error) {
	var out []domain.ImportedConversation
	for i := 0; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, malformed(err)
		}
		conv, known := readConversation(raw)
		if !known {
			if i == 0 {
				return nil, unknownFormat("the first element of the array is not a conversation of a known format")
			}
			conv = domain.ImportedConversation{Unreadable: "not a conversation of a known format"}
		}
		out = append(out, conv)
	}
	if _, err := dec.Token(); err != nil { // the closing bracket
		return nil, malformed(err)
	}
	if len(out) == 0 {
		return nil, unknownFormat("the array holds no conversations")
	}
	return out, nil
}

// decodeObject reads chatd's own export (streaming its "sessions") or a
// single foreign conversation. Keys may come in any order, so sessions are
// read as chatd.v1 as they come and kept only if "format" says chatd.v1.
func decodeObject(dec *json.Decoder) ([]domain.ImportedConversation, error) {
	rest := map[string]json.RawMessage{}
	var sessions []domain.ImportedConversation
	sawSessions := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, malformed(err)
		}
		key, _ := tok.(string)
		if key != "sessions" {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, malformed(err)
			}
			rest[key] = raw
			continue
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, malformed(err)
		}
		if tok != json.Delim('[') {
			if err := skipValue(dec, tok); err != nil {
				return nil, err
			}
			continue
		}
		sawSessions = true
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, malformed(err)
			}
			sessions = append(sessions, readChatdSession(raw))
		}
		if _, err := dec.Token(); err != nil {
			return nil, malformed(err)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, malformed(err)
	}
	if raw, ok := rest["format"]; ok {
		var format string
		if json.Unmarshal(raw, &format) != nil || format != domain.ImportSourceChatd {
			return nil, unknownFormat(fmt.Sprintf("the file's format is %s, which this server does not read", bytes.TrimSpace(raw)))
		}
		if !sawSessions {
			return nil, unknownFormat("the chatd.v1 file has no \"sessions\" array")
		}
		if len(sessions) == 0 {
			return nil, unknownFormat("the chatd.v1 file holds no sessions")
		}
		return sessions, nil
	}
	whole, err := json.Marshal(rest)
	if err != nil {
		return nil, fmt.Errorf("re-encode object: %w", err)
	}
	conv, known := readConversation(whole)
	if !known {
		return nil, unknownFormat("the object is not an export of a known format")
	}
	return []domain.ImportedConversation{conv}, nil
}

// skipValue consumes the rest of a value whose first token was read.
func skipValue(dec *json.Decoder, first json.Token) error {
	depth := 0
	if d, ok := first.(json.Delim); ok && (d == '{' || d == '[') {
		depth = 1
	}
	for depth > 0 {
		tok, err := dec.Token()
		if err != nil {
			return malformed(err)
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}

// probe is just enough of a conversation to tell its format.
type probe struct {
	Mapping        json.RawMessage `json:"mapping"`
	Chat           json.RawMessage `json:"chat"`
	History        json.RawMessage `json:"history"`
	Messages       json.RawMessage `json:"messages"`
	ConversationID json.RawMessage `json:"conversationId"`
}

// readConversation recognises one foreign conversation and reads it. known
// is false when the value has none of the formats' shapes.
func readConversation(raw json.RawMessage) (domain.ImportedConversation, bool) {
	var p probe
	if json.Unmarshal(raw, &p) != nil {
		return domain.ImportedConversation{}, false // not an object
	}
	switch {
	case isObject(p.Mapping):
		return readChatGPT(raw), true
	case isObject(p.Chat), isObject(p.History):
		return readOpenWebUI(raw), true
	case isArray(p.Messages) && (len(p.ConversationID) > 0 || bytes.Contains(p.Messages, []byte(`"messageId"`))):
		return readLibreChat(raw), true
	}
	return domain.ImportedConversation{}, false
}

func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

func isArray(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '['
}

// unreadable marks a conversation whose shape is recognised but whose
// fields are not what the format says.
func unreadable(source string, err error) domain.ImportedConversation {
	return domain.ImportedConversation{Source: source, Unreadable: fmt.Sprintf("not a valid %s conversation: %v", source, err)}
}
