package domain

import (
	"regexp"
	"testing"
)

var canonicalID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// FuzzParseID: an id is accepted exactly when it is in canonical form, and
// then it comes back unchanged.
func FuzzParseID(f *testing.F) {
	for _, s := range []string{
		"0192f0c1-7e5a-7b3c-9d2e-4f6a8b0c1d2e",
		"00000000-0000-0000-0000-000000000000",
		"{0192f0c1-7e5a-7b3c-9d2e-4f6a8b0c1d2e}",
		"urn:uuid:0192f0c1-7e5a-7b3c-9d2e-4f6a8b0c1d2e",
		"0192F0C1-7E5A-7B3C-9D2E-4F6A8B0C1D2E",
		"0192f0c17e5a7b3c9d2e4f6a8b0c1d2e",
		"0192f0c1-7e5a-7b3c-9d2e-4f6a8b0c1d2",
		"0192f0c1-7e5a-7b3c-9d2e-4f6a8b0c1d2e\n",
		"0192f0c1-7e5a-7b3c-9d2e-4f6a8b0c1dé",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ParseID(s)
		if want := canonicalID.MatchString(s); ok != want {
			t.Fatalf("ParseID(%q) accepted = %v, canonical = %v", s, ok, want)
		}
		if ok && got != s {
			t.Fatalf("ParseID(%q) = %q", s, got)
		}
		if !ok && got != "" {
			t.Fatalf("ParseID(%q) refused but answered %q", s, got)
		}
	})
}
