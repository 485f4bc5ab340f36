package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzTargets are the request types decodeJSON fills, each fresh per input.
var fuzzTargets = []func() any{
	func() any { return new(registerRequest) },
	func() any { return new(loginRequest) },
	func() any { return new(refreshRequest) },
	func() any { return new(createSessionRequest) },
	func() any { return new(updateSessionRequest) },
	func() any { return new(addParticipantRequest) },
	func() any { return new(sendMessageRequest) },
	func() any { return new(updateMessageRequest) },
	func() any { return new(processLLMRequest) },
}

// FuzzDecodeStrict feeds any body to decodeStrict for every request type.
// It never panics and always answers a 400 or 422 problem when it refuses.
// What it accepts is valid UTF-8, one JSON object with no duplicate key, no
// lone surrogate escape and nothing after it, and decodes to strings that
// are valid UTF-8 without NUL, the same as encoding/json decodes it.
func FuzzDecodeStrict(f *testing.F) {
	for _, body := range []string{
		`{"email":"a@example.com","password":"correct horse","display_name":"A"}`,
		`{"content":"hi","role":"user","process_llm":true,"llm_provider":"LOCAL","llm_model":"m"}`,
		`{"title":"t","settings":{"temperature":0.5,"stop":["\n"],"fallback_models":["x"]}}`,
		`{"content":"x","message_metadata":{"a":{"b":[1,2,{"c":null}]}}}`,
		`{"refresh_token":"r"}`,
		`{"user_id":"00000000-0000-7000-8000-000000000001","role":"viewer"}`,
		`{"prompt":"p","settings":{"max_tokens":5}}`,
		`{"content":"a","content":"b"}`,
		`{"content":"a","CONTENT":"b"}`,
		`{"Role":"admin"}`,
		`{"content":"\u0000"}`,
		`{"content":"\ud800"}`,
		`{"content":"\udc00\ud800"}`,
		`{"content":"\ud83d\ude00"}`,
		`{"content":"\\ud800"}`,
		`{"content":"a"} {"content":"b"}`,
		`{"content":"a"}garbage`,
		`[{"content":"a"}]`,
		`"content"`, `null`, `42`, ``, ` `,
		`{"settings":{"temperature":"hot"}}`,
		`{"llm_provider":7}`,
		`{"process_llm":"yes"}`,
		`{"settings":{"max_tokens":1e400}}`,
		`{"message_metadata":{"k\u0000":1}}`,
		`{"message_metadata":{"k":"a","k":"b"}}`,
		"{\"content\":\"\xff\"}",
		`{"content":"a"`,
		strings.Repeat("[", 100) + strings.Repeat("]", 100),
		`{"message_metadata":` + strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40) + `}`,
	} {
		for kind := range fuzzTargets {
			f.Add(uint8(kind), []byte(body))
		}
	}
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		newDst := fuzzTargets[int(kind)%len(fuzzTargets)]
		dst := newDst()
		err := decodeStrict(body, dst)
		if err != nil {
			var he *httpError
			if !errors.As(err, &he) || (he.status != http.StatusBadRequest && he.status != http.StatusUnprocessableEntity) {
				t.Fatalf("refused with %#v, want a 400 or 422 problem", err)
			}
			return
		}
		if !utf8.Valid(body) {
			t.Fatalf("accepted invalid UTF-8: %q", body)
		}
		if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
			t.Fatalf("accepted a body that is not an object: %q", body)
		}
		if problem := strictJSONProblem(body); problem != "" {
			t.Fatalf("accepted a body with %s: %q", problem, body)
		}
		if lone := loneSurrogateEscape(body); lone != "" {
			t.Fatalf("accepted the lone surrogate escape %s: %q", lone, body)
		}
		if bad := badString(reflect.ValueOf(dst)); bad != "" {
			t.Fatalf("decoded the string %q (NUL or invalid UTF-8) from %q", bad, body)
		}
		plain := newDst()
		if err := json.Unmarshal(body, plain); err != nil {
			t.Fatalf("accepted what encoding/json refuses (%v): %q", err, body)
		}
		if !reflect.DeepEqual(dst, plain) {
			t.Fatalf("decoded %+v, encoding/json %+v, from %q", dst, plain, body)
		}
	})
}

// strictJSONProblem checks, independently of decode.go, that body is one
// JSON value with no duplicate key in any object; it names the first
// problem, or answers "".
func strictJSONProblem(body []byte) string {
	type frame struct {
		object    bool
		expectKey bool
		keys      map[string]bool
	}
	var stack []*frame
	values := 0
	// valueDone tells the enclosing object that its next token is a key.
	valueDone := func() {
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].expectKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return ""
		}
		if err != nil {
			return "malformed JSON (" + err.Error() + ")"
		}
		if len(stack) > 0 && stack[len(stack)-1].object && stack[len(stack)-1].expectKey {
			top := stack[len(stack)-1]
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				valueDone()
				continue
			}
			key, _ := tok.(string)
			if top.keys[key] {
				return "the duplicate key " + key
			}
			top.keys[key] = true
			top.expectKey = false
			continue
		}
		if d, ok := tok.(json.Delim); ok && d == ']' {
			stack = stack[:len(stack)-1]
			valueDone()
			continue
		}
		if len(stack) == 0 {
			if values++; values > 1 {
				return "a second value"
			}
		}
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, &frame{object: d == '{', expectKey: d == '{', keys: map[string]bool{}})
			continue
		}
		valueDone()
	}
}

// loneSurrogateEscape finds a \uD800-\uDFFF escape that is not a high
// surrogate immediately followed by a low one, reading escapes as JSON does
// (an escaped backslash does not start an escape).
func loneSurrogateEscape(body []byte) string {
	hex := func(at int) (rune, bool) {
		if at+4 > len(body) {
			return 0, false
		}
		var r rune
		for _, c := range body[at : at+4] {
			switch {
			case '0' <= c && c <= '9':
				r = r*16 + rune(c-'0')
			case 'a' <= c && c <= 'f':
				r = r*16 + rune(c-'a'+10)
			case 'A' <= c && c <= 'F':
				r = r*16 + rune(c-'A'+10)
			default:
				return 0, false
			}
		}
		return r, true
	}
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' {
			continue
		}
		if i+1 >= len(body) || body[i+1] != 'u' {
			i++
			continue
		}
		r, ok := hex(i + 2)
		if !ok {
			continue
		}
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return string(body[i : i+6])
		case r >= 0xD800 && r <= 0xDBFF:
			if i+7 < len(body) && body[i+6] == '\\' && body[i+7] == 'u' {
				if low, ok := hex(i + 8); ok && low >= 0xDC00 && low <= 0xDFFF {
					i += 11
					continue
				}
			}
			return string(body[i : i+6])
		}
		i += 5
	}
	return ""
}

// badString finds a decoded string (map keys included) that holds NUL or is
// not valid UTF-8.
func badString(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return ""
		}
		return badString(v.Elem())
	case reflect.String:
		if s := v.String(); strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
			return s
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if bad := badString(v.Field(i)); bad != "" {
				return bad
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if bad := badString(v.Index(i)); bad != "" {
				return bad
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			if bad := badString(iter.Key()); bad != "" {
				return bad
			}
			if bad := badString(iter.Value()); bad != "" {
				return bad
			}
		}
	}
	return ""
}

// The oracles above must themselves see what they look for.
func TestFuzzOracles(t *testing.T) {
	for body, want := range map[string]string{
		`{"a":1,"a":2}`:                    "the duplicate key a",
		`{"a":{"b":1,"b":2}}`:              "the duplicate key b",
		`{"a":[{"b":1},{"b":2}],"c":[]}`:   "",
		`{"a":[],"a":[]}`:                  "the duplicate key a",
		`{"a":1,"\u0061":2}`:               "the duplicate key a",
		`{"a":1} {}`:                       "a second value",
		`{"a":[1,[2]],"b":{"c":{}},"d":0}`: "",
	} {
		if got := strictJSONProblem([]byte(body)); got != want {
			t.Errorf("strictJSONProblem(%s) = %q, want %q", body, got, want)
		}
	}
	for body, want := range map[string]string{
		`"\ud800"`:        `\ud800`,
		`"\udc00"`:        `\udc00`,
		`"\ud83d\ude00"`:  "",
		`"\\ud800"`:       "",
		`"\\\ud800"`:      `\ud800`,
		`"\ud83d\\ude00"`: `\ud83d`,
		`"\ud83d"`:        `\ud83d`,
		`"\uD83D\uDE00"`:  "",
	} {
		if got := loneSurrogateEscape([]byte(body)); got != want {
			t.Errorf("loneSurrogateEscape(%s) = %q, want %q", body, got, want)
		}
	}
}
