package domain

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseSearchQueryRefuses(t *testing.T) {
	for name, q := range map[string]string{
		"empty":          "",
		"spaces":         "   ",
		"white space":    " \t\n\r\u00a0\u2003",
		"201 characters": strings.Repeat("é", 201),
		"invalid UTF-8":  "ab\xffcd",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseSearchQuery(q)
			de, ok := AsError(err)
			if !ok || de.Kind != ErrInvalid || len(de.Fields) != 1 || de.Fields[0].Field != "q" {
				t.Fatalf("ParseSearchQuery(%q) = %v, want an invalid q", q, err)
			}
		})
	}
}

func TestParseSearchQueryAcceptsUpTo200Characters(t *testing.T) {
	// Characters, not bytes: 200 Cyrillic letters are 400 bytes.
	q, err := ParseSearchQuery(strings.Repeat("д", 200))
	if err != nil {
		t.Fatal(err)
	}
	want := []SearchTerm{{Words: []string{strings.Repeat("д", 200)}, Prefix: true}}
	if got := q.Terms(); !reflect.DeepEqual(got, want) {
		t.Fatalf("terms = %v", got)
	}
}

func TestParseSearchQueryTerms(t *testing.T) {
	word := func(w string) SearchTerm { return SearchTerm{Words: []string{w}} }
	prefix := func(w string) SearchTerm { return SearchTerm{Words: []string{w}, Prefix: true} }
	phrase := func(ws ...string) SearchTerm { return SearchTerm{Words: ws} }
	for _, c := range []struct {
		q    string
		want []SearchTerm
	}{
		{"hello", []SearchTerm{prefix("hello")}},
		{"hello world", []SearchTerm{word("hello"), prefix("world")}},
		{"  Hello,   WORLD!  ", []SearchTerm{word("hello"), prefix("world")}},
		{`"hello world"`, []SearchTerm{phrase("hello", "world")}},
		{`"hello world" fo`, []SearchTerm{phrase("hello", "world"), prefix("fo")}},
		{`fo "hello world"`, []SearchTerm{word("fo"), phrase("hello", "world")}},
		{`"hello"`, []SearchTerm{word("hello")}},
		{`"hel`, []SearchTerm{prefix("hel")}},
		{`hello wor"`, []SearchTerm{word("hello"), prefix("wor")}},
		{`"a b" "c`, []SearchTerm{phrase("a", "b"), prefix("c")}},
		{`"" x`, []SearchTerm{prefix("x")}},
		{`x ""`, []SearchTerm{prefix("x")}},
		{`“smart quotes” «guillemets»`, []SearchTerm{phrase("smart", "quotes"), word("guillemets")}},
		{"ÉTÉ", []SearchTerm{prefix("été")}},
		{"ПРИВЕТ мир", []SearchTerm{word("привет"), prefix("мир")}},
		{"ΟΔΟΣ", []SearchTerm{prefix("οδοσ")}},
		{"οδος", []SearchTerm{prefix("οδοσ")}},
		{"Straße STRASSE", []SearchTerm{word("straße"), prefix("strasse")}},
		{"İstanbul", []SearchTerm{prefix("istanbul")}},
		{"foo-bar a@b.com x_y", []SearchTerm{word("foo"), word("bar"), word("a"), word("b"), word("com"), word("x"), prefix("y")}},
		{"don't", []SearchTerm{word("don"), prefix("t")}},
		{"3.14 1e5", []SearchTerm{word("3"), word("14"), prefix("1e5")}},
		{"a OR b NOT c", []SearchTerm{word("a"), word("or"), word("b"), word("not"), prefix("c")}},
		{"NEAR(a b, 3)", []SearchTerm{word("near"), word("a"), word("b"), prefix("3")}},
		{"col:value ^start", []SearchTerm{word("col"), word("value"), prefix("start")}},
		{`a & b | !c <-> d:* (e) \f`, []SearchTerm{word("a"), word("b"), word("c"), word("d"), word("e"), prefix("f")}},
		{"hello😀world", []SearchTerm{word("hello"), prefix("world")}},
		{"e\u0301te", []SearchTerm{word("e"), prefix("te")}},
	} {
		q, err := ParseSearchQuery(c.q)
		if err != nil {
			t.Fatalf("ParseSearchQuery(%q): %v", c.q, err)
		}
		if got := q.Terms(); !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseSearchQuery(%q) = %+v, want %+v", c.q, got, c.want)
		}
	}
}

func TestParseSearchQueryWithNothingToSearch(t *testing.T) {
	for _, q := range []string{"***", `"`, `""`, `" "`, "-", "()", "😀", "\u0301", "\x00", "&|!<->:*"} {
		got, err := ParseSearchQuery(q)
		if err != nil {
			t.Fatalf("ParseSearchQuery(%q): %v", q, err)
		}
		if !got.IsEmpty() {
			t.Errorf("ParseSearchQuery(%q) = %+v, want no term", q, got.Terms())
		}
	}
}

func TestSearchQueryTermsAreCopies(t *testing.T) {
	q, err := ParseSearchQuery("a b")
	if err != nil {
		t.Fatal(err)
	}
	q.Terms()[0].Words[0] = "changed"
	if q.Terms()[0].Words[0] != "a" {
		t.Fatal("Terms exposes the query's own slices")
	}
}

func TestSearchDocument(t *testing.T) {
	for content, want := range map[string]string{
		"Hello, World!":                       "hello world",
		"foo-bar a@b.com https://x.org/p?q=1": "foo bar a b com https x org p q 1",
		"ÉTÉ été ПРИВЕТ ΟΔΟΣ οδος ſ µ":        "été été привет οδοσ οδοσ s μ",
		"x²y ⅻ हिन्दी":                        "x y ⅻ हिन दी",
		"thanks🫠friend":                       "thanks friend",
		"  \n\t ":                             "",
	} {
		if got := SearchDocument(content); got != want {
			t.Errorf("SearchDocument(%q) = %q, want %q", content, got, want)
		}
	}
}

func TestSearchDocumentKeepsPostgreSQLLimits(t *testing.T) {
	// Only the first SearchIndexedChars characters count.
	head := strings.Repeat("é ", SearchIndexedChars/2-1) + "z"
	if got := SearchDocument(head + "tail"); !strings.HasSuffix(got, " zt") {
		t.Errorf("a word cut by the limit: ...%q", got[len(got)-10:])
	}
	if got := SearchDocument(head + " tail"); strings.Contains(got, "tail") {
		t.Error("a word past the limit is indexed")
	}
	// Words longer than 2047 bytes are left out, without a position.
	long := strings.Repeat("a", 2048)
	if got := SearchDocument("x " + long + " y " + strings.Repeat("b", 2047)); got != "x y "+strings.Repeat("b", 2047) {
		t.Errorf("long words: %.40q", got)
	}
	// A word's occurrences past the 255th keep their positions but match nothing.
	got := strings.Fields(SearchDocument(strings.Repeat("w ", 300) + "end"))
	if len(got) != 301 || got[254] != "w" || got[255] != searchFiller || got[299] != searchFiller || got[300] != "end" {
		t.Errorf("repeated word: %d words, [254..256] = %q", len(got), got[254:257])
	}
}

func mustQuery(t *testing.T, q string) SearchQuery {
	t.Helper()
	sq, err := ParseSearchQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	return sq
}

func TestSnippetOfShortContentIsAllOfIt(t *testing.T) {
	if got := Snippet("  Hello\n\n  world\t! ", mustQuery(t, "world")); got != "Hello world !" {
		t.Fatalf("snippet = %q", got)
	}
}

func TestSnippetAroundTheFirstMatch(t *testing.T) {
	filler := func(n int) string { return strings.TrimSpace(strings.Repeat("lorem ipsum ", n)) }
	for _, c := range []struct {
		name, content, q, mustHave string
		lead, trail                bool
	}{
		{"at the start", "Needle " + filler(50), "needle", "Needle", false, true},
		{"in the middle", filler(40) + " the NEEDLE here " + filler(40), "needle", "the NEEDLE here", true, true},
		{"at the end", filler(40) + " last needle", "needle", "last needle", true, false},
		{"prefix", filler(40) + " needlework " + filler(40), "need", "needlework", true, true},
		{"phrase", filler(20) + " red apple " + filler(20) + " green apple " + filler(20), `"green apple"`, "green apple", true, true},
		{"first of several", filler(30) + " beta " + filler(30) + " alpha " + filler(30), "alpha beta", " beta ", true, true},
		{"accents and case", filler(40) + " L'ÉTÉ dernier " + filler(40), "été", "L'ÉTÉ dernier", true, true},
		{"no match", filler(60), "absent", "lorem ipsum", false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Snippet(c.content, mustQuery(t, c.q))
			if n := utf8.RuneCountInString(got); n > MaxSnippetChars {
				t.Fatalf("snippet of %d characters: %q", n, got)
			}
			if !strings.Contains(got, c.mustHave) {
				t.Fatalf("snippet %q lacks %q", got, c.mustHave)
			}
			if strings.HasPrefix(got, ellipsis) != c.lead || strings.HasSuffix(got, ellipsis) != c.trail {
				t.Fatalf("snippet %q: want leading ellipsis %v, trailing %v", got, c.lead, c.trail)
			}
			if c.lead && strings.HasPrefix(got, ellipsis+"psum") {
				t.Fatalf("snippet %q starts inside a word", got)
			}
		})
	}
}

func TestSnippetCountsCharacters(t *testing.T) {
	content := strings.Repeat("привет ", 30) + "искомое " + strings.Repeat("мир ", 60)
	got := Snippet(content, mustQuery(t, "искомое"))
	if n := utf8.RuneCountInString(got); n > MaxSnippetChars || n < MaxSnippetChars-10 || !strings.Contains(got, "искомое") {
		t.Fatalf("snippet of %d characters: %q", n, got)
	}
}

func TestSnippetOfALongMatch(t *testing.T) {
	long := strings.Repeat("x", 500)
	got := Snippet("intro "+long+" outro", mustQuery(t, "xx"))
	if n := utf8.RuneCountInString(got); n != MaxSnippetChars || !strings.HasPrefix(got, ellipsis+"xxx") {
		t.Fatalf("snippet of %d characters: %.30q", n, got)
	}
}
