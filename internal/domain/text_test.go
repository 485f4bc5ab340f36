package domain

import (
	"strings"
	"testing"
)

func TestCheckText(t *testing.T) {
	cases := []struct {
		name     string
		value    string
		min, max int
		problem  string // "" when valid
	}{
		{"empty allowed", "", 0, 10, ""},
		{"empty refused", "", 1, 10, "must not be empty"},
		{"below a minimum above one", "ab", 3, 10, "must be at least 3 characters"},
		{"at the minimum", "abc", 3, 10, ""},
		{"runes, not bytes, at the maximum", strings.Repeat("日", 10), 1, 10, ""},
		{"over the maximum", strings.Repeat("日", 11), 1, 10, "must be at most 10 characters"},
		{"emoji count as one", strings.Repeat("🙂", 5), 5, 5, ""},
		{"combining marks count apart", "e\u0301", 1, 1, "must be at most 1 characters"},
		{"no maximum", strings.Repeat("x", 100000), 1, 0, ""},
		{"NUL", "a\x00b", 0, 10, "must not contain NUL characters"},
		{"NUL alone", "\x00", 1, 1, "must not contain NUL characters"},
		{"invalid byte", "a\xffb", 0, 10, "must be valid UTF-8"},
		{"truncated sequence", "\xe6\x97", 0, 10, "must be valid UTF-8"},
		{"encoded surrogate", "\xed\xa0\x80", 0, 10, "must be valid UTF-8"},
		{"overlong NUL", "\xc0\x80", 0, 10, "must be valid UTF-8"},
		{"U+FFFD itself is fine", "\ufffd", 1, 1, ""},
		{"other control characters are fine", "\t\n\x01", 1, 10, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkText("field", tc.value, tc.min, tc.max)
			if tc.problem == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want %q", tc.problem)
			}
			if err.Kind != ErrInvalid || len(err.Fields) != 1 || err.Fields[0].Field != "field" || err.Fields[0].Message != tc.problem {
				t.Fatalf("error %+v, want field %q", err, tc.problem)
			}
		})
	}
}
