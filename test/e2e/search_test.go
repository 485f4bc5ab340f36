package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chatd/chatd/test/harness"
)

// searchPath is the search route with its query parameters, encoded.
func searchPath(q string, extra ...string) string {
	v := url.Values{"q": {q}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return "/api/v1/chat/search?" + v.Encode()
}

// searchResults runs a search that must answer 200 and returns its body.
func searchResults(t testing.TB, c *harness.Client, q string, extra ...string) map[string]any {
	t.Helper()
	return c.Do("GET", searchPath(q, extra...), nil).Expect(http.StatusOK).Map()
}

// searchContents returns the content of each result, in order.
func searchContents(body map[string]any) []string {
	items, _ := body["results"].([]any)
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, it.(map[string]any)["message"].(map[string]any)["content"].(string))
	}
	return out
}

// searchFinds checks that q finds exactly the messages with these contents,
// in any order, and that total_count says so.
func searchFinds(t testing.TB, c *harness.Client, q string, want ...string) {
	t.Helper()
	searchFindsIn(t, c, q, "", want...)
}

func searchFindsIn(t testing.TB, c *harness.Client, q, sessionID string, want ...string) {
	t.Helper()
	var extra []string
	if sessionID != "" {
		extra = []string{"session_id", sessionID}
	}
	body := searchResults(t, c, q, append(extra, "page_size", "100")...)
	got := searchContents(body)
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) || body["total_count"] != float64(len(want)) {
		t.Fatalf("search %q found %q (total_count %v), want %q", q, got, body["total_count"], want)
	}
}

// searchNormal drops what a message carries only in some lists.
func searchNormal(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if k != "sibling_ids" {
			out[k] = v
		}
	}
	return out
}

func TestSearch(t *testing.T) {
	// The hostile table's answers per dialect, compared once both have run.
	answers := map[harness.Dialect]map[string]string{}
	harness.ForEachDialect(t, func(t *testing.T, d harness.Dialect) {
		srv := harness.Start(t, harness.DefaultConfig(t, d))

		t.Run("words, prefixes, phrases and case", func(t *testing.T) {
			owner := srv.NewUser(t)
			sid := e2eNewSession(t, owner, "Voyage")
			ete := e2ePost(t, owner, sid, "L'ÉTÉ à Paris fut chaud")
			for _, content := range []string{"Привет, мир!", "The quick brown fox jumps", "brown quick fox",
				"hello world", "help me", "ΣΟΦΟΣ άνθρωπος"} {
				e2ePost(t, owner, sid, content)
			}

			// One result in full: the stored message, its session, a snippet.
			body := searchResults(t, owner, "été")
			if body["page"] != float64(1) || body["page_size"] != float64(20) || body["total_count"] != float64(1) ||
				body["has_more"] != false || len(body["results"].([]any)) != 1 {
				t.Fatalf("body %v", body)
			}
			res := body["results"].([]any)[0].(map[string]any)
			if !reflect.DeepEqual(searchNormal(res["message"].(map[string]any)), searchNormal(ete)) ||
				res["session_id"] != sid || res["session_title"] != "Voyage" || res["snippet"] != "L'ÉTÉ à Paris fut chaud" {
				t.Fatalf("result %v\nposted %v", res, ete)
			}

			for q, want := range map[string][]string{
				"ÉTÉ": {"L'ÉTÉ à Paris fut chaud"}, "été": {"L'ÉTÉ à Paris fut chaud"}, "paris ÉTÉ": {"L'ÉTÉ à Paris fut chaud"},
				"ete":    nil,
				"ПРИВЕТ": {"Привет, мир!"}, "привет": {"Привет, мир!"}, "МИ": {"Привет, мир!"},
				"σοφος": {"ΣΟΦΟΣ άνθρωπος"}, "ΆΝΘΡΩΠΟΣ": {"ΣΟΦΟΣ άνθρωπος"},
				"hel": {"hello world", "help me"}, "hello": {"hello world"}, "wor": {"hello world"},
				"hel world": nil, "world hel": {"hello world"},
				`"quick brown"`: {"The quick brown fox jumps"}, `"brown quick"`: {"brown quick fox"},
				"quick brown": {"The quick brown fox jumps", "brown quick fox"},
				"fox QUICK":   {"The quick brown fox jumps", "brown quick fox"},
				`"fo"`:        nil, "fox hello": nil,
			} {
				searchFinds(t, owner, q, want...)
			}
		})

		t.Run("session filter, pages, ranking and snippets", func(t *testing.T) {
			owner := srv.NewUser(t)
			alpha, beta := e2eNewSession(t, owner, "Alpha"), e2eNewSession(t, owner, "Beta")
			var notes []string
			for i := range 12 {
				notes = append(notes, e2ePost(t, owner, alpha, fmt.Sprintf("note %d", i+1))["id"].(string))
			}
			slices.Reverse(notes) // equal matches: newest first
			e2ePost(t, owner, beta, "note in beta")

			all := searchResults(t, owner, "note")
			if all["total_count"] != float64(13) {
				t.Fatalf("total_count %v, want 13", all["total_count"])
			}
			for page, from := range []int{0, 5, 10} {
				body := searchResults(t, owner, "note", "session_id", alpha, "page", fmt.Sprint(page+1), "page_size", "5")
				ids := make([]string, 0, 5)
				for _, r := range body["results"].([]any) {
					ids = append(ids, r.(map[string]any)["message"].(map[string]any)["id"].(string))
				}
				want := notes[from:min(from+5, 12)]
				if !slices.Equal(ids, want) || body["total_count"] != float64(12) || body["has_more"] != (from+5 < 12) ||
					body["page"] != float64(page+1) || body["page_size"] != float64(5) {
					t.Fatalf("page %d: ids %v (want %v), body %v", page+1, ids, want, body)
				}
			}
			beyond := searchResults(t, owner, "note", "session_id", alpha, "page", "9", "page_size", "5")
			if len(beyond["results"].([]any)) != 0 || beyond["total_count"] != float64(12) || beyond["has_more"] != false {
				t.Fatalf("page past the end: %v", beyond)
			}
			searchFindsIn(t, owner, "note", beta, "note in beta")

			// Best matches first, then newest.
			e2ePost(t, owner, beta, "apple apple apple pie")
			e2ePost(t, owner, beta, "apple tart with cream")
			newest := e2ePost(t, owner, beta, "apple tart with cream")
			ranked := searchResults(t, owner, "apple")
			got := searchContents(ranked)
			if !slices.Equal(got, []string{"apple apple apple pie", "apple tart with cream", "apple tart with cream"}) ||
				ranked["results"].([]any)[1].(map[string]any)["message"].(map[string]any)["id"] != newest["id"] {
				t.Fatalf("ranked %v", ranked["results"])
			}

			// The snippet is plain text around the first match, at most 200 characters.
			long := strings.Repeat("Lorem ipsum dolor sit amet. ", 20) + "Here <b>is</b> the\n\nneedle & more. " +
				strings.Repeat("Consectetur adipiscing elit. ", 20)
			e2ePost(t, owner, beta, long)
			res := searchResults(t, owner, "NEEDLE")["results"].([]any)
			snippet := res[0].(map[string]any)["snippet"].(string)
			if utf8.RuneCountInString(snippet) > 200 || !strings.Contains(snippet, "Here <b>is</b> the needle & more.") ||
				!strings.HasPrefix(snippet, "…") || !strings.HasSuffix(snippet, "…") {
				t.Fatalf("snippet %q", snippet)
			}
		})

		t.Run("only what the caller may read, at once", func(t *testing.T) {
			owner, member, viewer, stranger := srv.NewUser(t), srv.NewUser(t), srv.NewUser(t), srv.NewUser(t)
			sid := e2eNewSession(t, owner, "Zoo")
			spath := "/api/v1/chat/sessions/" + sid
			owner.Do("POST", spath+"/participants", map[string]any{"user_id": member.UserID, "role": "member"}).Expect(http.StatusCreated)
			owner.Do("POST", spath+"/participants", map[string]any{"user_id": viewer.UserID, "role": "viewer"}).Expect(http.StatusCreated)
			crossing := e2ePost(t, owner, sid, "zebra crossing")
			stripes := e2ePost(t, member, sid, "zebra stripes")
			theirs := e2eNewSession(t, stranger, "Theirs")
			e2ePost(t, stranger, theirs, "zebra of a stranger")

			for _, c := range []*harness.Client{owner, member, viewer} {
				searchFinds(t, c, "zebra", "zebra crossing", "zebra stripes")
				searchFindsIn(t, c, "zebra", sid, "zebra crossing", "zebra stripes")
			}
			searchFinds(t, stranger, "zebra", "zebra of a stranger")
			// Another's session, or none, answers as a missing one.
			stranger.Do("GET", searchPath("zebra", "session_id", sid), nil).Problem(http.StatusNotFound)
			owner.Do("GET", searchPath("zebra", "session_id", theirs), nil).Problem(http.StatusNotFound)
			owner.Do("GET", searchPath("zebra", "session_id", e2eRandomID()), nil).Problem(http.StatusNotFound)

			// A removed participant stops finding.
			owner.Do("DELETE", spath+"/participants/"+member.UserID, nil).Expect(http.StatusNoContent)
			searchFinds(t, member, "zebra")
			member.Do("GET", searchPath("zebra", "session_id", sid), nil).Problem(http.StatusNotFound)

			// A deleted message stops matching; an edit is found by its new words only.
			owner.Do("DELETE", "/api/v1/chat/messages/"+stripes["id"].(string), nil).Expect(http.StatusNoContent)
			searchFinds(t, owner, "stripes")
			owner.Do("PUT", "/api/v1/chat/messages/"+crossing["id"].(string), map[string]any{"content": "okapi crossing"}).
				Expect(http.StatusOK)
			searchFinds(t, owner, "zebra")
			searchFinds(t, viewer, "okapi", "okapi crossing")
			searchFinds(t, owner, "crossing", "okapi crossing")

			// A deleted session takes its messages out of every participant's search.
			owner.Do("DELETE", spath, nil).Expect(http.StatusNoContent)
			searchFinds(t, owner, "okapi")
			searchFinds(t, viewer, "crossing")
			searchFinds(t, stranger, "zebra", "zebra of a stranger")
		})

		t.Run("q, session_id and pages are checked", func(t *testing.T) {
			c := srv.NewUser(t)
			sid := e2eNewSession(t, c, "checks")
			e2ePost(t, c, sid, strings.Repeat("д", 200))
			for name, path := range map[string]string{
				"no q":               "/api/v1/chat/search",
				"empty q":            searchPath(""),
				"spaces":             searchPath("     "),
				"white space":        searchPath(" \t\r\n\u00a0\u3000 "),
				"201 characters":     searchPath(strings.Repeat("д", 201)),
				"201 ASCII":          searchPath(strings.Repeat("a", 201)),
				"invalid UTF-8":      "/api/v1/chat/search?q=%FF%FE",
				"201 with session":   searchPath(strings.Repeat("x", 201), "session_id", sid),
				"empty with session": searchPath("", "session_id", sid),
			} {
				p := c.Do("GET", path, nil).Problem(http.StatusUnprocessableEntity)
				if len(p.Errors) != 1 || p.Errors[0].Field != "q" {
					t.Errorf("%s: problem %+v, want one error on q", name, p)
				}
			}
			// 200 characters (400 bytes) is allowed.
			searchFinds(t, c, strings.Repeat("Д", 200), strings.Repeat("д", 200))

			for name, id := range map[string]string{
				"not a UUID": "nope", "empty": "", "upper case": strings.ToUpper(sid), "braces": "{" + sid + "}",
				"no dashes": strings.ReplaceAll(sid, "-", ""), "urn": "urn:uuid:" + sid,
			} {
				p := c.Do("GET", searchPath("x", "session_id", id), nil).Problem(http.StatusBadRequest)
				if len(p.Errors) != 1 || p.Errors[0].Field != "session_id" {
					t.Errorf("session_id %s: problem %+v", name, p)
				}
			}
			c.Do("GET", searchPath("x", "page", "0"), nil).Problem(http.StatusUnprocessableEntity)
			c.Do("GET", searchPath("x", "page_size", "101"), nil).Problem(http.StatusUnprocessableEntity)
			c.Do("GET", searchPath("x", "page", "one"), nil).Problem(http.StatusBadRequest)
			srv.Client(t).Do("GET", searchPath("x"), nil).Problem(http.StatusUnauthorized)
		})

		t.Run("hostile queries answer 200 or 422, never 5xx", func(t *testing.T) {
			c := srv.NewUser(t)
			sid := e2eNewSession(t, c, "hostile")
			for _, content := range searchHostileContents {
				e2ePost(t, c, sid, content)
			}
			got := map[string]string{}
			for _, q := range searchHostileQueries() {
				r := c.Do("GET", searchPath(q, "page_size", "100"), nil)
				switch r.Status {
				case http.StatusOK:
					body := r.Map()
					var lines []string
					for _, it := range body["results"].([]any) {
						res := it.(map[string]any)
						lines = append(lines, res["message"].(map[string]any)["content"].(string)+" | "+res["snippet"].(string))
					}
					slices.Sort(lines)
					got[q] = fmt.Sprintf("200 total=%v %q", body["total_count"], lines)
				case http.StatusUnprocessableEntity:
					p := r.Problem(http.StatusUnprocessableEntity)
					got[q] = fmt.Sprintf("422 %+v", p.Errors)
				default:
					t.Errorf("q %q answered %d: %.300s", q, r.Status, r.Body)
				}
			}
			// Some answers are known: the syntax of either engine is only words.
			for q, want := range map[string][]string{
				"NOT d":   {"use a AND b OR c NOT d"},
				"col:val": {"NEAR(x y) col:val ^start"},
				`C:\path`: {`C:\path\to\file`},
				`"hello"`: {`He said "hello" and left`, "hello"},
				"***":     nil, `"`: nil, "'; DROP TABLE chat_messages; --": nil,
				"select * from": {"SELECT * FROM chat_messages; --"},
				"50%":           {"50% off & more | less"},
				"ÇA va":         {"Ünïcödé ÇA VA"},
			} {
				var lines []string
				for _, content := range want {
					lines = append(lines, content+" | "+content)
				}
				slices.Sort(lines)
				if w := fmt.Sprintf("200 total=%d %q", len(want), lines); got[q] != w {
					t.Errorf("q %q: %s, want %s", q, got[q], w)
				}
			}
			answers[d] = got
		})
	})

	lite, pg := answers[harness.SQLite], answers[harness.Postgres]
	if lite == nil || pg == nil {
		return
	}
	t.Logf("%d hostile queries answered alike on SQLite and PostgreSQL", len(searchHostileQueries()))
	for _, q := range searchHostileQueries() {
		if lite[q] != pg[q] {
			t.Errorf("q %q answers differently:\n  sqlite:   %s\n  postgres: %s", q, lite[q], pg[q])
		}
	}
}

// searchHostileContents are messages full of what query languages treat as syntax.
var searchHostileContents = []string{
	"use a AND b OR c NOT d",
	"NEAR(x y) col:val ^start",
	`He said "hello" and left`,
	"hello",
	`C:\path\to\file`,
	"price: $5 * 3 = 15",
	"don't stop",
	"e-mail: foo@bar.com, web: https://example.org/a?b=c#d",
	"Ünïcödé ÇA VA",
	"ΣΟΦΟΣ",
	"привет!!!",
	"tabs\tand\nnewlines",
	"SELECT * FROM chat_messages; --",
	"<script>alert(1)</script>",
	"50% off & more | less",
	"!important <-> :* && a:*B",
	"x²y ⅻ thanks🫠friend 1.5e3",
}

// searchHostileQueries are what users may type, on purpose or not.
func searchHostileQueries() []string {
	return []string{
		`"`, `""`, `"""`, `"unbalanced`, `unbalanced"`, `"hello`, `"hello"`, `"said hello"`, `"said" "hello"`,
		`*`, `***`, `hel*`, `*hel`, `he*llo`, `-`, `-hello`, `hello -said`, `+hello`,
		`OR`, `a OR b`, `AND`, `a AND`, `NOT`, `NOT d`, `NEAR`, `NEAR(x y)`, `NEAR(x y, 2)`, `NEAR/3`,
		`(`, `)`, `()`, `(a OR b)`, `((((`, `:`, `col:val`, `words:hello`, `^`, `^start`, `{x}`, `[x]`,
		`\`, `\\`, `C:\path`, `\"hello\"`, `'`, `''`, `'; DROP TABLE chat_messages; --`, `select * from`,
		`&`, `|`, `!`, `<->`, `<2>`, `:*`, `a:*`, `a & b | !c`, `!important`, `a:*B`, `%`, `50%`, `_`, `$5`,
		`<script>`, `&amp;`, `%00`, "a\x00b", "\x00", "\u200b", "😀", "🫠", `thanks`, `friend`, `x`, `ⅻ`, `1.5e3`, `1`,
		`ÇA va`, `ünïcödé`, `ΣΟΦΟΣ`, `σοφος`, `ПРИВЕТ!!!`, `foo@bar.com`, `https://example.org`, `e-mail`,
		"\t\thello\n", strings.Repeat(`"a" `, 50), strings.Repeat("a ", 100), strings.Repeat("NEAR(", 40),
		strings.Repeat(`"`, 200), strings.Repeat("*", 200), "ab\xff", `ÉTÉ"*OR(`,
	}
}
