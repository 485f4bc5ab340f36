package domain

import (
	"strings"
	"testing"
)

func TestParseIDAcceptsTheCanonicalFormOnly(t *testing.T) {
	const canonical = "0192f0c1-7e5a-7b3c-9d2e-4f6a8b0c1d2e"
	for _, s := range []string{canonical, "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"} {
		got, ok := ParseID(s)
		if !ok || got != s {
			t.Errorf("ParseID(%q) = %q, %v; want it back", s, got, ok)
		}
	}
	for name, s := range map[string]string{
		"empty":             "",
		"braces":            "{" + canonical + "}",
		"urn":               "urn:uuid:" + canonical,
		"upper case":        strings.ToUpper(canonical),
		"one upper letter":  "0192F0c1-7e5a-7b3c-9d2e-4f6a8b0c1d2e",
		"no dashes":         strings.ReplaceAll(canonical, "-", ""),
		"one short":         canonical[:35],
		"one long":          canonical + "0",
		"leading space":     " " + canonical[1:],
		"trailing newline":  canonical[:35] + "\n",
		"dash moved":        "0192f0c17-e5a-7b3c-9d2e-4f6a8b0c1d2e",
		"underscore":        "0192f0c1_7e5a_7b3c_9d2e_4f6a8b0c1d2e",
		"non-hex":           "0192f0c1-7e5a-7b3c-9d2e-4f6a8b0c1d2g",
		"dash for digit":    "0192f0c1-7e5a-7b3c-9d2e--f6a8b0c1d2e",
		"multi-byte":        "0192f0c1-7e5a-7b3c-9d2e-4f6a8b0c1dé",
		"NUL":               "0192f0c1-7e5a-7b3c-9d2e-4f6a8b0c1d2\x00",
		"path traversal":    "../../../../../../../../../etc/passwd",
		"nil UUID in upper": "00000000-0000-0000-0000-00000000000A",
	} {
		if got, ok := ParseID(s); ok || got != "" {
			t.Errorf("%s: ParseID(%q) = %q, %v; want refused", name, s, got, ok)
		}
	}
}
