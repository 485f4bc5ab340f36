package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/chatd/chatd/internal/domain"
)

// Bounds on a JSON body's shape, far above what any request needs and far
// below what would make decoding slow.
const (
	maxJSONDepth      = 32
	maxJSONArrayItems = 1000
)

// decodeJSON reads the body into dst strictly: JSON content type, a body
// within the limit, valid UTF-8, one value and nothing after it, no duplicate
// keys, no NUL in strings, no key the request type does not name exactly (in
// any letter case), and right types. encoding/json alone would accept most
// of these (RELIABILITY.md, trap 7).
func decodeJSON(c *gin.Context, dst any) error {
	if err := requireJSON(c.Request); err != nil {
		return err
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &httpError{status: http.StatusRequestEntityTooLarge, code: "body-too-large",
				detail: fmt.Sprintf("the request body exceeds %d bytes", tooLarge.Limit)}
		}
		return badRequest("unreadable-body", "the request body could not be read")
	}
	return decodeStrict(body, dst)
}

// decodeOptionalJSON is decodeJSON for routes whose body may be left out.
func decodeOptionalJSON(c *gin.Context, dst any) error {
	if c.Request.ContentLength == 0 {
		return nil
	}
	return decodeJSON(c, dst)
}

// decodeStrict is decodeJSON after transport checks; fuzzed on its own.
func decodeStrict(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("empty-body", "the request body is empty; send a JSON object")
	}
	if !utf8.Valid(body) {
		return badRequest("invalid-utf8", "the request body is not valid UTF-8")
	}
	if hasLoneSurrogate(body) {
		return badRequest("invalid-unicode-escape", "the request body holds a \\u escape that is not valid UTF-16 (a lone surrogate)")
	}
	tree, err := parseTree(body)
	if err != nil {
		return err
	}
	if _, isObject := tree.(map[string]any); !isObject {
		return badRequest("not-an-object", "the request body must be a JSON object")
	}
	if fields := unknownKeys(tree, reflect.TypeOf(dst), ""); len(fields) > 0 {
		return &httpError{status: http.StatusUnprocessableEntity, code: "unknown-field",
			detail: "the request has fields this endpoint does not accept: " + fields[0].Field, fields: fields}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			field := typeErr.Field
			return &httpError{status: http.StatusUnprocessableEntity, code: "wrong-type",
				detail: fmt.Sprintf("%s must be of type %s", field, jsonTypeName(typeErr.Type)),
				fields: []domain.FieldError{{Field: field, Message: "must be of type " + jsonTypeName(typeErr.Type)}}}
		}
		return badRequest("malformed-json", "the request body is not valid JSON")
	}
	return nil
}

func requireJSON(r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return &httpError{status: http.StatusUnsupportedMediaType, code: "unsupported-media-type",
			detail: "send the request body as application/json"}
	}
	return nil
}

// parseTree walks the body token by token and builds a generic tree,
// refusing what encoding/json would let through.
func parseTree(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	v, err := parseValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badRequest("trailing-data", "the request body holds more than one JSON value")
	}
	return v, nil
}

func parseValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, badRequest("too-deep", fmt.Sprintf("the request body nests deeper than %d levels", maxJSONDepth))
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, badRequest("malformed-json", "the request body is not valid JSON")
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			return parseObject(dec, depth)
		}
		if t == '[' {
			return parseArray(dec, depth)
		}
		return nil, badRequest("malformed-json", "the request body is not valid JSON")
	case string:
		if strings.IndexByte(t, 0) >= 0 {
			return nil, badRequest("nul-in-string", "strings in the request body must not contain NUL characters")
		}
		return t, nil
	default:
		return t, nil
	}
}

func parseObject(dec *json.Decoder, depth int) (any, error) {
	obj := map[string]any{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, badRequest("malformed-json", "the request body is not valid JSON")
		}
		key, _ := tok.(string)
		if strings.IndexByte(key, 0) >= 0 {
			return nil, badRequest("nul-in-string", "keys in the request body must not contain NUL characters")
		}
		if _, dup := obj[key]; dup {
			return nil, badRequest("duplicate-key", fmt.Sprintf("the key %q appears twice in one object", key))
		}
		v, err := parseValue(dec, depth+1)
		if err != nil {
			return nil, err
		}
		obj[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, badRequest("malformed-json", "the request body is not valid JSON")
	}
	return obj, nil
}

func parseArray(dec *json.Decoder, depth int) (any, error) {
	var arr []any
	for dec.More() {
		if len(arr) == maxJSONArrayItems {
			return nil, badRequest("array-too-long", fmt.Sprintf("arrays in the request body hold at most %d items", maxJSONArrayItems))
		}
		v, err := parseValue(dec, depth+1)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, badRequest("malformed-json", "the request body is not valid JSON")
	}
	return arr, nil
}

// unknownKeys lists object keys that name no field of t exactly. Fields of
// type map (free-form metadata) are not checked.
func unknownKeys(v any, t reflect.Type, prefix string) []domain.FieldError {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil // a type error, reported by the typed decode
		}
		var out []domain.FieldError
		for key, child := range obj {
			f, found := fieldByTag(t, key)
			if !found {
				out = append(out, domain.FieldError{Field: prefix + key, Message: "is not a known field"})
				continue
			}
			out = append(out, unknownKeys(child, f.Type, prefix+key+".")...)
		}
		return out
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			return nil
		}
		var out []domain.FieldError
		for i, item := range arr {
			out = append(out, unknownKeys(item, t.Elem(), fmt.Sprintf("%s[%d].", strings.TrimSuffix(prefix, "."), i))...)
		}
		return out
	}
	return nil
}

func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	// Fields of embedded structs count as the outer struct's, as for encoding/json.
	for _, f := range reflect.VisibleFields(t) {
		if f.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == key && name != "-" {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func jsonTypeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice:
		return "array"
	default:
		return "object"
	}
}

// hasLoneSurrogate finds \u escapes of UTF-16 surrogates that are not a
// high-low pair: encoding/json would silently turn them into U+FFFD.
// Backslashes appear only inside JSON strings, so no string tracking is needed.
func hasLoneSurrogate(body []byte) bool {
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' || i+1 >= len(body) {
			continue
		}
		if body[i+1] != 'u' {
			i++ // skip the escaped character, which may be a backslash
			continue
		}
		r, ok := hex4(body, i+2)
		if !ok {
			i++
			continue
		}
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return true
		case r >= 0xD800 && r <= 0xDBFF:
			low, ok := uint16(0), false
			if i+11 < len(body) && body[i+6] == '\\' && body[i+7] == 'u' {
				low, ok = hex4(body, i+8)
			}
			if !ok || low < 0xDC00 || low > 0xDFFF {
				return true
			}
			i += 11
		default:
			i += 5
		}
	}
	return false
}

func hex4(b []byte, at int) (uint16, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var v uint16
	for _, c := range b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint16(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint16(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | uint16(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}
