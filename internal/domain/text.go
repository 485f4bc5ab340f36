package domain

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// checkText applies the rules every stored string shares: valid UTF-8, no NUL
// (PostgreSQL refuses it while SQLite keeps it, so both must refuse it here),
// and a length in characters between min and max.
func checkText(field, value string, minChars, maxChars int) *Error {
	if !utf8.ValidString(value) {
		return InvalidField(field, "must be valid UTF-8")
	}
	if strings.IndexByte(value, 0) >= 0 {
		return InvalidField(field, "must not contain NUL characters")
	}
	n := utf8.RuneCountInString(value)
	if n < minChars {
		if minChars == 1 {
			return InvalidField(field, "must not be empty")
		}
		return InvalidField(field, fmt.Sprintf("must be at least %d characters", minChars))
	}
	if maxChars > 0 && n > maxChars {
		return InvalidField(field, fmt.Sprintf("must be at most %d characters", maxChars))
	}
	return nil
}
