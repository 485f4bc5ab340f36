package domain

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Full-text search, decided here once so that SQLite and PostgreSQL answer
// alike. Both engines index and look up the same words, made by one rule:
//
//   - A word is a run of alphabetic characters (Unicode's Alphabetic property:
//     letters, letter numbers such as Ⅻ, and the vowel signs of Indic scripts)
//     and decimal digits. Everything else separates words, so "a@b.com",
//     "foo-bar" and "x_y" are words a, b, com / foo, bar / x, y on both engines.
//   - Case is folded character by character as lower(upper(c)): ÉTÉ and été,
//     ПРИВЕТ and привет, ΟΔΟΣ and οδος (final sigma), ſ and s fall together.
//     Accents are kept: été is not ete.
//
// This is exactly what PostgreSQL's 'simple' configuration gives after the
// search migration replaces every non-[[:alnum:]] run with a space and folds
// with lower(upper()) under C.UTF-8 (checked character by character over the
// whole of Unicode 14), so on PostgreSQL the engine does the work. SQLite's
// FTS5 tokenizers carry Unicode 6.1 tables and fold differently (newer emoji
// would glue to words, ς would become σ but İ would not become i), so there
// SearchDocument computes the same words in Go and FTS5 only splits them.
//
// What a user types reaches neither engine as syntax: a query is reduced to
// words first, and storage writes each word quoted into the engine's query.

const (
	// MaxSearchQueryChars bounds q.
	MaxSearchQueryChars = 200
	// MaxSnippetChars bounds a result's snippet.
	MaxSnippetChars = 200
	// SearchIndexedChars is how much of a message is searchable: its first
	// 32 000 characters (a user message's default limit). The search migration
	// holds the same number for PostgreSQL (left(content, 32000)); change both
	// together, with a new migration. The bound keeps PostgreSQL inside its
	// tsvector limits (1 MB, 16 383 positions), past which the two engines
	// would disagree or a long reply could not be stored at all.
	SearchIndexedChars = 32000
	// searchMaxWordBytes: PostgreSQL leaves longer words out of its index
	// (without giving them a position), so SearchDocument does too.
	searchMaxWordBytes = 2047
	// searchMaxPositions: PostgreSQL keeps the first 255 positions of a word.
	searchMaxPositions = 255
	// searchFiller stands in SearchDocument for a word's occurrences past
	// searchMaxPositions: it keeps the words after it at their positions, as
	// PostgreSQL does, and matches nothing, since no query word holds it.
	searchFiller = "\uFFFF"
	// snippetLead is how much text a snippet shows before its match.
	snippetLead = 60
	ellipsis    = "…"
)

// SearchTerm is one thing every result must contain: a word, or a phrase
// (several words, one right after the other).
type SearchTerm struct {
	// Words are folded as the index folds them.
	Words []string
	// Prefix lets the (only) word also match longer words that start with it.
	Prefix bool
}

// SearchQuery is a validated search. It may hold no term at all (q was only
// punctuation, say), which matches nothing.
type SearchQuery struct {
	terms []SearchTerm
}

// Terms returns the terms, all of which a result must contain.
func (q SearchQuery) Terms() []SearchTerm {
	out := make([]SearchTerm, len(q.terms))
	for i, t := range q.terms {
		out[i] = SearchTerm{Words: slices.Clone(t.Words), Prefix: t.Prefix}
	}
	return out
}

// IsEmpty reports a query with nothing to look for.
func (q SearchQuery) IsEmpty() bool { return len(q.terms) == 0 }

// ParseSearchQuery reads what a user typed: 1..200 characters, not only
// white space. Every word must appear; the last word, unless it closes a
// quoted phrase, also matches as a prefix; words between a pair of quotes
// (", “ ”, „, « », ＂) match as a phrase. Anything else (an unpaired quote,
// *, -, OR, NEAR, parentheses, colons, backslashes) only separates words.
func ParseSearchQuery(raw string) (SearchQuery, error) {
	if !utf8.ValidString(raw) {
		return SearchQuery{}, InvalidField("q", "must be valid UTF-8")
	}
	if strings.TrimSpace(raw) == "" {
		return SearchQuery{}, InvalidField("q", "must not be empty")
	}
	if utf8.RuneCountInString(raw) > MaxSearchQueryChars {
		return SearchQuery{}, InvalidField("q", "must be at most 200 characters")
	}
	// A quote pairs with the next one; an odd last quote pairs with nothing
	// and is ignored, so what follows it is plain words.
	quotes := 0
	for _, r := range raw {
		if isSearchQuote(r) {
			quotes++
		}
	}
	var (
		terms    []SearchTerm
		phrase   []string
		inPhrase bool
		seen     int
		lastBare bool
	)
	word := func(w string, _, _ int) {
		if inPhrase {
			phrase = append(phrase, w)
			return
		}
		terms = append(terms, SearchTerm{Words: []string{w}})
		lastBare = true
	}
	rest := raw
	for rest != "" {
		i := strings.IndexFunc(rest, isSearchQuote)
		if i < 0 {
			eachSearchWord(rest, word)
			break
		}
		eachSearchWord(rest[:i], word)
		_, size := utf8.DecodeRuneInString(rest[i:])
		rest = rest[i+size:]
		seen++
		if seen == quotes && quotes%2 == 1 {
			continue
		}
		if inPhrase && len(phrase) > 0 {
			terms = append(terms, SearchTerm{Words: phrase})
			lastBare = false
		}
		inPhrase, phrase = !inPhrase, nil
	}
	if lastBare {
		terms[len(terms)-1].Prefix = true
	}
	return SearchQuery{terms: terms}, nil
}

func isSearchQuote(r rune) bool {
	switch r {
	case '"', '“', '”', '„', '‟', '«', '»', '＂':
		return true
	}
	return false
}

// SearchDocument is what the SQLite index holds for a message's content:
// the words of its first SearchIndexedChars characters, folded, one space
// apart, with PostgreSQL's limits applied (see searchMaxWordBytes and
// searchMaxPositions), so that both engines see the same words at the same
// positions.
func SearchDocument(content string) string {
	var b strings.Builder
	eachIndexedWord(content, func(w string, _, _ int) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	})
	return b.String()
}

// eachIndexedWord is eachSearchWord over what the index holds of content.
func eachIndexedWord(content string, fn func(word string, start, end int)) {
	content = firstChars(content, SearchIndexedChars)
	seen := map[string]int{}
	eachSearchWord(content, func(w string, start, end int) {
		if len(w) > searchMaxWordBytes {
			return
		}
		if seen[w]++; seen[w] > searchMaxPositions {
			w = searchFiller
		}
		fn(w, start, end)
	})
}

// eachSearchWord calls fn with each word of text, folded, and its byte span.
func eachSearchWord(text string, fn func(word string, start, end int)) {
	start := -1
	for i, r := range text {
		if isSearchWordRune(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			fn(foldSearchWord(text[start:i]), start, i)
			start = -1
		}
	}
	if start >= 0 {
		fn(foldSearchWord(text[start:]), start, len(text))
	}
}

// isSearchWordRune is PostgreSQL's [[:alnum:]] under C.UTF-8: Unicode's
// Alphabetic property and decimal digits.
func isSearchWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Nl, r) || unicode.Is(unicode.Other_Alphabetic, r)
}

func foldSearchWord(w string) string {
	return strings.Map(func(r rune) rune { return unicode.ToLower(unicode.ToUpper(r)) }, w)
}

// firstChars returns the first n characters of s.
func firstChars(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// Snippet is plain text from content, at most MaxSnippetChars characters
// with white space runs made single spaces, around the first place q
// matches (the start when q matches nowhere: the content changed since the
// search, or q is empty). A cut is marked with "…".
func Snippet(content string, q SearchQuery) string {
	text := strings.Join(strings.Fields(content), " ")
	if utf8.RuneCountInString(text) <= MaxSnippetChars {
		return text
	}
	from, to := firstMatch(text, q)
	runes := []rune(text)
	// Byte offsets to character offsets.
	matchStart, matchEnd := utf8.RuneCountInString(text[:from]), utf8.RuneCountInString(text[:to])

	start := max(0, matchStart-snippetLead)
	if matchEnd-start > MaxSnippetChars-2 {
		// A long match: show as much of it as fits.
		start = matchStart
	}
	if room := MaxSnippetChars - 1; len(runes)-start < room {
		// Near the end: fill the window with more of what comes before.
		start = len(runes) - room
	}
	if start > 0 && start < matchStart {
		// Begin at a word rather than in the middle of one.
		if sp := indexRune(runes[start:matchStart], ' '); sp >= 0 {
			start += sp + 1
		}
	}
	end := len(runes)
	if start > 0 {
		end = min(end, start+MaxSnippetChars-1)
	} else {
		end = min(end, MaxSnippetChars)
	}
	cut := end < len(runes)
	if cut {
		end-- // room for the closing ellipsis
	}
	out := strings.TrimSpace(string(runes[start:end]))
	if start > 0 {
		out = ellipsis + out
	}
	if cut {
		out += ellipsis
	}
	return out
}

func indexRune(rs []rune, r rune) int {
	for i, c := range rs {
		if c == r {
			return i
		}
	}
	return -1
}

// firstMatch returns the byte span of the earliest place in text where any
// term of q matches, or (0, 0). It reads the words as the index holds them.
func firstMatch(text string, q SearchQuery) (int, int) {
	type span struct {
		word       string
		start, end int
	}
	var words []span
	eachIndexedWord(text, func(w string, start, end int) {
		words = append(words, span{w, start, end})
	})
	for i := range words {
		for _, t := range q.terms {
			if i+len(t.Words) > len(words) {
				continue
			}
			ok := true
			for j, w := range t.Words {
				got := words[i+j].word
				if got != w && (!t.Prefix || !strings.HasPrefix(got, w)) {
					ok = false
					break
				}
			}
			if ok {
				return words[i].start, words[i+len(t.Words)-1].end
			}
		}
	}
	return 0, 0
}
