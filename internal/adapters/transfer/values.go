package transfer

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// flexTime reads the times the formats use: Unix seconds as a number
// (ChatGPT's floats, Open WebUI's integers), Unix milliseconds (a number too
// large to be seconds), or an ISO 8601 string (LibreChat, chatd). Anything
// else reads as zero, "no time given", rather than failing the conversation.
type flexTime struct{ time.Time }

// secondsCeiling separates seconds from milliseconds: 1e11 seconds is the
// year 5138, 1e11 milliseconds is 1973.
const secondsCeiling = 1e11

func (t *flexTime) UnmarshalJSON(b []byte) error {
	t.Time = time.Time{}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err == nil {
			t.Time = parseTimeString(strings.TrimSpace(s))
		}
		return nil
	}
	if f, err := strconv.ParseFloat(string(b), 64); err == nil {
		t.Time = fromUnix(f)
	}
	return nil
}

func parseTimeString(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999"} {
		if at, err := time.Parse(layout, s); err == nil {
			return at.UTC()
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return fromUnix(f)
	}
	return time.Time{}
}

func fromUnix(f float64) time.Time {
	if math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 {
		return time.Time{}
	}
	if f >= secondsCeiling {
		f /= 1000
	}
	if f >= secondsCeiling { // not a plausible time either way
		return time.Time{}
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC()
}

// orderedObject reads a JSON object's members in the file's order (a Go map
// would lose it, and siblings keep their order through it).
func orderedObject(raw json.RawMessage) ([]string, []json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, err
	}
	if tok != json.Delim('{') {
		return nil, nil, errors.New("want an object of messages keyed by id")
	}
	var keys []string
	var values []json.RawMessage
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		keys = append(keys, key)
		values = append(values, v)
	}
	return keys, values, nil
}

// textParts reads a list of content parts as OpenAI-style APIs write them:
// strings, {"type": "text", "text": "..."} (or {"text": {"value": "..."}}),
// and parts that are not text, which are counted and left out.
func textParts(parts []json.RawMessage) (string, int) {
	var texts []string
	omitted := 0
	for _, raw := range parts {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			if s != "" {
				texts = append(texts, s)
			}
			continue
		}
		var part struct {
			Type string          `json:"type"`
			Text json.RawMessage `json:"text"`
		}
		if json.Unmarshal(raw, &part) == nil && (part.Type == "" || part.Type == "text") {
			if text := textValue(part.Text); text != "" {
				texts = append(texts, text)
				continue
			}
		}
		if string(bytes.TrimSpace(raw)) != "null" {
			omitted++
		}
	}
	return strings.Join(texts, "\n\n"), omitted
}

// textValue reads "text" that is either a string or {"value": "..."}.
func textValue(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var v struct {
		Value string `json:"value"`
	}
	if json.Unmarshal(raw, &v) == nil {
		return v.Value
	}
	return ""
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
