package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/test/harness"
)

// hostileCase is one row of RELIABILITY.md's "Hostile and sloppy input"
// table, sent over HTTP. In path and body, {S} is the fixture session, {M}
// its message, {U} the owner and {B} another registered user.
type hostileCase struct {
	name    string
	method  string
	path    string
	body    any // a string is sent as is; nil sends no body
	headers []harness.Header
	want    []int  // acceptable statuses
	field   string // when set, errors[] must name this field
	fast    bool   // must answer within hostileFastAnswer
	login   string // when set, no account with this email may exist afterwards
	bug     string // when set, a known server bug: the row is skipped with this text
}

const hostileFastAnswer = 2 * time.Second

var (
	hostileTextPlain = harness.Header{Name: "Content-Type", Value: "text/plain"}
	hostileNoCType   = harness.Header{Name: "Content-Type", Value: ""}
)

func hostileStatuses(s ...int) []int { return s }

var (
	hostile400      = hostileStatuses(http.StatusBadRequest)
	hostile404      = hostileStatuses(http.StatusNotFound)
	hostile415      = hostileStatuses(http.StatusUnsupportedMediaType)
	hostile422      = hostileStatuses(http.StatusUnprocessableEntity)
	hostile400or422 = hostileStatuses(http.StatusBadRequest, http.StatusUnprocessableEntity)
)

const (
	hostileSessions     = "/api/v1/chat/sessions"
	hostileSession      = "/api/v1/chat/sessions/{S}"
	hostileMessages     = "/api/v1/chat/sessions/{S}/messages"
	hostileMembers      = "/api/v1/chat/sessions/{S}/participants"
	hostileMessage      = "/api/v1/chat/messages/{M}"
	hostileRegisterPath = "/api/v1/auth/register"
	hostileOKSession    = `{"title":"t","llm_provider":"LOCAL","llm_model":"m"}`
	hostileOKMessage    = `{"content":"hi","process_llm":false}`
)

// hostileRegister builds a registration body for a fresh address with one field
// spelled raw (already JSON), and returns the address to look for afterwards.
func hostileRegister(name, rawField string) (string, string) {
	email := "hostile-" + name + "@example.com"
	return fmt.Sprintf(`{"email":%q,"password":"correct horse battery","display_name":"Eve"%s}`, email, rawField), email
}

func hostileCases() []hostileCase {
	var cs []hostileCase
	add := func(c ...hostileCase) { cs = append(cs, c...) }

	// Content type.
	add(
		hostileCase{name: "text/plain on POST sessions", method: "POST", path: hostileSessions, body: hostileOKSession, headers: []harness.Header{hostileTextPlain}, want: hostile415},
		hostileCase{name: "no content type on POST sessions", method: "POST", path: hostileSessions, body: hostileOKSession, headers: []harness.Header{hostileNoCType}, want: hostile415},
		hostileCase{name: "text/plain on POST messages", method: "POST", path: hostileMessages, body: hostileOKMessage, headers: []harness.Header{hostileTextPlain}, want: hostile415},
		hostileCase{name: "form on POST messages", method: "POST", path: hostileMessages, body: "content=hi&process_llm=false",
			headers: []harness.Header{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}}, want: hostile415},
		hostileCase{name: "no content type on POST messages", method: "POST", path: hostileMessages, body: hostileOKMessage, headers: []harness.Header{hostileNoCType}, want: hostile415},
		hostileCase{name: "text/plain on PUT session", method: "PUT", path: hostileSession, body: `{"title":"x"}`, headers: []harness.Header{hostileTextPlain}, want: hostile415},
		hostileCase{name: "no content type on PUT message", method: "PUT", path: hostileMessage, body: `{"content":"x"}`, headers: []harness.Header{hostileNoCType}, want: hostile415},
		hostileCase{name: "text/plain on POST participants", method: "POST", path: hostileMembers, body: `{"user_id":"{B}","role":"member"}`, headers: []harness.Header{hostileTextPlain}, want: hostile415},
	)
	body, email := hostileRegister("textplain", "")
	add(hostileCase{name: "text/plain on register", method: "POST", path: hostileRegisterPath, body: body, headers: []harness.Header{hostileTextPlain}, want: hostile415, login: email})

	// Malformed JSON.
	add(
		hostileCase{name: "truncated object", method: "POST", path: hostileSessions, body: `{"title":"t","llm_provider":"LOCAL"`, want: hostile400},
		hostileCase{name: "truncated string", method: "POST", path: hostileMessages, body: `{"process_llm":false,"content":"hi`, want: hostile400},
		hostileCase{name: "trailing garbage", method: "POST", path: hostileSessions, body: hostileOKSession + ` x`, want: hostile400},
		hostileCase{name: "two objects", method: "POST", path: hostileMessages, body: hostileOKMessage + hostileOKMessage, want: hostile400},
		hostileCase{name: "two objects on PUT session", method: "PUT", path: hostileSession, body: `{"title":"a"} {"title":"b"}`, want: hostile400},
		hostileCase{name: "object then array", method: "POST", path: hostileMessages, body: hostileOKMessage + "\n[]", want: hostile400},
		hostileCase{name: "empty body", method: "POST", path: hostileMessages, body: "", want: hostile400},
		hostileCase{name: "single quotes", method: "POST", path: hostileMessages, body: `{'content':'hi'}`, want: hostile400},
		hostileCase{name: "raw NUL byte in a string", method: "POST", path: hostileMessages, body: "{\"content\":\"a\x00b\",\"process_llm\":false}", want: hostile400},
		hostileCase{name: "array instead of object", method: "POST", path: hostileSessions, body: `[1,2]`, want: hostile400or422},
		hostileCase{name: "string instead of object", method: "POST", path: hostileMessages, body: `"hi"`, want: hostile400or422},
	)

	// Invalid UTF-8 and NUL.
	add(
		hostileCase{name: "invalid UTF-8 in content", method: "POST", path: hostileMessages, body: "{\"content\":\"a\xff\xfeb\",\"process_llm\":false}", want: hostile400or422},
		hostileCase{name: "overlong UTF-8 in content", method: "POST", path: hostileMessages, body: "{\"content\":\"\xc0\xaf\",\"process_llm\":false}", want: hostile400or422},
		hostileCase{name: "invalid UTF-8 in title", method: "POST", path: hostileSessions, body: "{\"title\":\"\xff\",\"llm_provider\":\"LOCAL\",\"llm_model\":\"m\"}", want: hostile400or422},
		hostileCase{name: "invalid UTF-8 in a key", method: "POST", path: hostileMessages, body: "{\"\xffcontent\":\"hi\",\"process_llm\":false}", want: hostile400or422},
		hostileCase{name: "invalid UTF-8 in metadata", method: "PUT", path: hostileMessage, body: "{\"message_metadata\":{\"k\":\"\xed\xa0\x80\"}}", want: hostile400or422},
		hostileCase{name: "lone surrogate escape in content", method: "POST", path: hostileMessages, body: `{"content":"a\ud800b","process_llm":false}`, want: hostile400or422},
		hostileCase{name: "NUL in content", method: "POST", path: hostileMessages, body: `{"content":"a\u0000b","process_llm":false}`, want: hostile400or422},
		hostileCase{name: "NUL in title", method: "POST", path: hostileSessions, body: `{"title":"a\u0000b","llm_provider":"LOCAL","llm_model":"m"}`, want: hostile400or422},
		hostileCase{name: "NUL in title on PUT", method: "PUT", path: hostileSession, body: `{"title":"a\u0000b"}`, want: hostile400or422},
		hostileCase{name: "NUL in llm_model", method: "POST", path: hostileSessions, body: `{"llm_provider":"LOCAL","llm_model":"m\u0000"}`, want: hostile400or422},
		hostileCase{name: "NUL in system_prompt", method: "PUT", path: hostileSession, body: `{"settings":{"system_prompt":"\u0000"}}`, want: hostile400or422},
		hostileCase{name: "NUL in metadata value", method: "PUT", path: hostileMessage, body: `{"message_metadata":{"k":"v\u0000"}}`, want: hostile400or422},
		hostileCase{name: "NUL in metadata key", method: "PUT", path: hostileMessage, body: `{"message_metadata":{"k\u0000":"v"}}`, want: hostile400or422},
		hostileCase{name: "NUL in edited content", method: "PUT", path: hostileMessage, body: `{"content":"\u0000"}`, want: hostile400or422},
		hostileCase{name: "NUL in participant email", method: "POST", path: hostileMembers, body: `{"email":"b\u0000@example.com","role":"member"}`, want: hostile400or422},
	)
	body, email = hostileRegister("nulemail", "")
	add(hostileCase{name: "NUL in register email", method: "POST", path: hostileRegisterPath, login: email,
		body: strings.Replace(body, "@example.com", `\u0000@example.com`, 1), want: hostile400or422})
	body, email = hostileRegister("nulname", "")
	add(hostileCase{name: "NUL in display_name", method: "POST", path: hostileRegisterPath, login: email,
		body: strings.Replace(body, `"Eve"`, `"E\u0000ve"`, 1), want: hostile400or422})
	body, email = hostileRegister("badutf8", "")
	add(hostileCase{name: "invalid UTF-8 in display_name", method: "POST", path: hostileRegisterPath, login: email,
		body: strings.Replace(body, `"Eve"`, "\"E\xffve\"", 1), want: hostile400or422})

	// Deep and wide: refused, and fast.
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	deepObj := strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)
	wide := "[" + strings.TrimSuffix(strings.Repeat("0,", 100000), ",") + "]"
	wideStrings := "[" + strings.TrimSuffix(strings.Repeat(`"x",`, 100000), ",") + "]"
	add(
		hostileCase{name: "nesting 10000 deep at the top", method: "POST", path: hostileSessions, body: deep, want: hostile400, fast: true},
		hostileCase{name: "nesting 10000 deep in metadata", method: "PUT", path: hostileMessage, body: `{"message_metadata":{"a":` + deep + `}}`, want: hostile400, fast: true},
		hostileCase{name: "objects 10000 deep", method: "POST", path: hostileMessages, body: deepObj, want: hostile400, fast: true},
		hostileCase{name: "unclosed nesting 10000 deep", method: "POST", path: hostileMessages, body: strings.Repeat("[", 10000), want: hostile400, fast: true},
		hostileCase{name: "array of 100000 in metadata", method: "PUT", path: hostileMessage, body: `{"message_metadata":{"a":` + wide + `}}`, want: hostile400, fast: true},
		hostileCase{name: "array of 100000 at the top", method: "POST", path: hostileSessions, body: wide, want: hostile400, fast: true},
		hostileCase{name: "array of 100000 in settings.stop", method: "PUT", path: hostileSession, body: `{"settings":{"stop":` + wideStrings + `}}`, want: hostile400, fast: true},
	)

	// Wrong types name the field.
	wrong := func(name, method, path, body, field string) hostileCase {
		return hostileCase{name: name, method: method, path: path, body: body, want: hostile400or422, field: field}
	}
	add(
		wrong("llm_provider 7", "POST", hostileSessions, `{"llm_provider":7,"llm_model":"m"}`, "llm_provider"),
		wrong("title true", "POST", hostileSessions, `{"title":true,"llm_provider":"LOCAL","llm_model":"m"}`, "title"),
		wrong("llm_model array", "POST", hostileSessions, `{"llm_provider":"LOCAL","llm_model":["m"]}`, "llm_model"),
		wrong("settings string", "POST", hostileSessions, `{"llm_provider":"LOCAL","llm_model":"m","settings":"warm"}`, "settings"),
		wrong("temperature string", "POST", hostileSessions, `{"llm_provider":"LOCAL","llm_model":"m","settings":{"temperature":"hot"}}`, "settings.temperature"),
		wrong("max_tokens fraction", "PUT", hostileSession, `{"settings":{"max_tokens":1.5}}`, "settings.max_tokens"),
		wrong("max_tokens overflow", "PUT", hostileSession, `{"settings":{"max_tokens":99999999999999999999999}}`, "settings.max_tokens"),
		wrong("stop string", "PUT", hostileSession, `{"settings":{"stop":"###"}}`, "settings.stop"),
		wrong("is_active string", "PUT", hostileSession, `{"is_active":"false"}`, "is_active"),
		wrong("content number", "POST", hostileMessages, `{"content":7,"process_llm":false}`, "content"),
		wrong("process_llm string", "POST", hostileMessages, `{"content":"hi","process_llm":"false"}`, "process_llm"),
		wrong("role array", "POST", hostileMessages, `{"content":"hi","role":["user"],"process_llm":false}`, "role"),
		wrong("metadata string", "PUT", hostileMessage, `{"message_metadata":"x"}`, "message_metadata"),
		wrong("metadata array", "PUT", hostileMessage, `{"message_metadata":[1]}`, "message_metadata"),
		wrong("edited content object", "PUT", hostileMessage, `{"content":{"text":"x"}}`, "content"),
		wrong("participant user_id number", "POST", hostileMembers, `{"user_id":5,"role":"member"}`, "user_id"),
	)
	body, email = hostileRegister("wrongtype", "")
	add(hostileCase{name: "register display_name number", method: "POST", path: hostileRegisterPath, login: email,
		body: strings.Replace(body, `"display_name":"Eve"`, `"display_name":42`, 1), want: hostile400or422, field: "display_name"})

	// Unknown fields, in any letter case: 422 naming them, nothing changed.
	unknown := func(name, method, path, body, field string) hostileCase {
		return hostileCase{name: name, method: method, path: path, body: body, want: hostile422, field: field}
	}
	add(
		unknown("user_id on POST sessions", "POST", hostileSessions, `{"llm_provider":"LOCAL","llm_model":"m","user_id":"{B}"}`, "user_id"),
		unknown("id on POST sessions", "POST", hostileSessions, `{"llm_provider":"LOCAL","llm_model":"m","id":"{S}"}`, "id"),
		unknown("ROLE on POST sessions", "POST", hostileSessions, `{"llm_provider":"LOCAL","llm_model":"m","ROLE":"admin"}`, "ROLE"),
		unknown("Title on POST sessions", "POST", hostileSessions, `{"llm_provider":"LOCAL","llm_model":"m","Title":"t"}`, "Title"),
		unknown("LLM_PROVIDER beside llm_provider", "POST", hostileSessions, `{"llm_provider":"LOCAL","LLM_PROVIDER":"OPENROUTER","llm_model":"m"}`, "LLM_PROVIDER"),
		unknown("message_count on POST sessions", "POST", hostileSessions, `{"llm_provider":"LOCAL","llm_model":"m","message_count":99}`, "message_count"),
		unknown("user_id on POST messages", "POST", hostileMessages, `{"content":"hi","process_llm":false,"user_id":"{B}"}`, "user_id"),
		unknown("id on POST messages", "POST", hostileMessages, `{"content":"hi","process_llm":false,"id":"{M}"}`, "id"),
		unknown("ROLE assistant on POST messages", "POST", hostileMessages, `{"content":"hi","process_llm":false,"role":"user","ROLE":"assistant"}`, "ROLE"),
		unknown("Role on POST messages", "POST", hostileMessages, `{"content":"hi","process_llm":false,"Role":"assistant"}`, "Role"),
		unknown("Content only", "POST", hostileMessages, `{"Content":"hi","process_llm":false}`, "Content"),
		unknown("CONTENT beside content", "POST", hostileMessages, `{"content":"hi","CONTENT":"ho","process_llm":false}`, "CONTENT"),
		unknown("status on POST messages", "POST", hostileMessages, `{"content":"hi","process_llm":false,"status":"completed"}`, "status"),
		unknown("session_id on POST messages", "POST", hostileMessages, `{"content":"hi","process_llm":false,"session_id":"{S}"}`, "session_id"),
		unknown("user_id on PUT session", "PUT", hostileSession, `{"user_id":"{B}"}`, "user_id"),
		unknown("User_Id on PUT session", "PUT", hostileSession, `{"title":"x","User_Id":"{B}"}`, "User_Id"),
		unknown("id on PUT session", "PUT", hostileSession, `{"id":"{M}"}`, "id"),
		unknown("message_count on PUT session", "PUT", hostileSession, `{"message_count":0}`, "message_count"),
		unknown("IS_ACTIVE on PUT session", "PUT", hostileSession, `{"IS_ACTIVE":false}`, "IS_ACTIVE"),
		unknown("role on PUT message", "PUT", hostileMessage, `{"role":"assistant"}`, "role"),
		unknown("user_id on PUT message", "PUT", hostileMessage, `{"content":"x","user_id":"{B}"}`, "user_id"),
		unknown("Content on PUT message", "PUT", hostileMessage, `{"Content":"x"}`, "Content"),
		unknown("unknown settings key", "PUT", hostileSession, `{"settings":{"foo":1}}`, "settings.foo"),
		unknown("Temperature in settings", "POST", hostileSessions, `{"llm_provider":"LOCAL","llm_model":"m","settings":{"Temperature":1}}`, "settings.Temperature"),
		unknown("ROLE on POST participants", "POST", hostileMembers, `{"user_id":"{B}","role":"viewer","ROLE":"member"}`, "ROLE"),
	)
	for _, f := range []string{`"role":"admin"`, `"Role":"admin"`, `"ROLE":"admin"`, `"id":"{B}"`, `"Email":"x@example.com"`} {
		name := strings.Split(f, `"`)[1]
		body, email := hostileRegister("unknown"+strings.ToLower(name)+fmt.Sprint(len(cs)), ","+f)
		add(hostileCase{name: "register with " + name, method: "POST", path: hostileRegisterPath, body: body, want: hostile422, field: name, login: email})
	}

	// Duplicate keys.
	add(
		hostileCase{name: "duplicate llm_provider", method: "POST", path: hostileSessions, body: `{"llm_provider":"LOCAL","llm_provider":"OPENROUTER","llm_model":"m"}`, want: hostile400},
		hostileCase{name: "duplicate content", method: "POST", path: hostileMessages, body: `{"content":"a","content":"b","process_llm":false}`, want: hostile400},
		hostileCase{name: "duplicate role", method: "POST", path: hostileMessages, body: `{"content":"a","role":"user","role":"assistant","process_llm":false}`, want: hostile400},
		hostileCase{name: "duplicate temperature", method: "PUT", path: hostileSession, body: `{"settings":{"temperature":1,"temperature":5}}`, want: hostile400},
		hostileCase{name: "duplicate metadata key", method: "PUT", path: hostileMessage, body: `{"message_metadata":{"k":1,"k":2}}`, want: hostile400},
		hostileCase{name: "duplicate participant role", method: "POST", path: hostileMembers, body: `{"user_id":"{B}","role":"viewer","role":"member"}`, want: hostile400},
	)
	body, email = hostileRegister("dupemail", "")
	add(hostileCase{name: "register duplicate email", method: "POST", path: hostileRegisterPath, want: hostile400, login: email,
		body: strings.Replace(body, `{"email"`, `{"email":"other@example.com","email"`, 1)})

	// Ids in paths: the canonical lower-case form only; the nil UUID is simply not there.
	type idRoute struct{ method, path, body string }
	idRoutes := []idRoute{
		{"GET", "/api/v1/chat/sessions/%s", ""},
		{"PUT", "/api/v1/chat/sessions/%s", `{"title":"x"}`},
		{"DELETE", "/api/v1/chat/sessions/%s", ""},
		{"GET", "/api/v1/chat/sessions/%s/messages", ""},
		{"POST", "/api/v1/chat/sessions/%s/messages", hostileOKMessage},
		{"GET", "/api/v1/chat/sessions/%s/participants", ""},
		{"POST", "/api/v1/chat/sessions/%s/participants", `{"user_id":"{B}","role":"member"}`},
		{"DELETE", "/api/v1/chat/sessions/{S}/participants/%s", ""},
		{"PUT", "/api/v1/chat/messages/%s", `{"content":"x"}`},
	}
	spellings := []struct{ name, format string }{
		{"braces", "{%s}"}, {"urn", "urn:uuid:%s"}, {"no dashes", "nodash:%s"}, {"upper case", "upper:%s"},
		{"too short", "short:%s"}, {"too long", "%s0"}, {"not a uuid", "not-a-uuid"}, {"trailing space", "%s "},
	}
	for _, r := range idRoutes {
		id := "{S}"
		switch {
		case strings.HasPrefix(r.path, "/api/v1/chat/messages"):
			id = "{M}"
		case strings.Contains(r.path, "participants/%s"):
			id = "{U}"
		}
		var body any
		if r.body != "" {
			body = r.body
		}
		for _, s := range spellings {
			add(hostileCase{name: fmt.Sprintf("%s %s with %s id", r.method, r.path, s.name), method: r.method,
				path: fmt.Sprintf(r.path, "~"+s.format+"~"+id), body: body, want: hostile400})
		}
		add(hostileCase{name: fmt.Sprintf("%s %s with nil id", r.method, r.path), method: r.method,
			path: fmt.Sprintf(r.path, "00000000-0000-0000-0000-000000000000"), body: body, want: hostile404})
	}

	// Query parameters.
	for _, list := range []string{hostileSessions, hostileMessages} {
		for _, q := range []struct{ query, field string }{
			{"page=0", "page"}, {"page=-1", "page"}, {"page=abc", "page"}, {"page=1.5", "page"}, {"page=", "page"},
			{"page=99999999999999999999", "page"}, {"page_size=0", "page_size"}, {"page_size=-5", "page_size"},
			{"page_size=101", "page_size"}, {"page_size=1000", "page_size"}, {"page_size=ten", "page_size"},
		} {
			add(hostileCase{name: list + "?" + q.query, method: "GET", path: list + "?" + q.query, want: hostile400or422, field: q.field})
		}
	}
	add(
		hostileCase{name: "order=sideways", method: "GET", path: hostileMessages + "?order=sideways", want: hostile400or422, field: "order"},
		hostileCase{name: "order=ASC", method: "GET", path: hostileMessages + "?order=ASC", want: hostile400or422, field: "order"},
		hostileCase{name: "is_active=maybe", method: "GET", path: hostileSessions + "?is_active=maybe", want: hostile400or422, field: "is_active"},
		hostileCase{name: "llm_provider=local filter", method: "GET", path: hostileSessions + "?llm_provider=local", want: hostile400or422, field: "llm_provider"},
		hostileCase{name: "stats scope=everything", method: "GET", path: "/api/v1/chat/stats?scope=everything", want: hostile400or422, field: "scope"},
	)

	// Well-formed but invalid values.
	invalid := func(name, method, path, body, field string) hostileCase {
		return hostileCase{name: name, method: method, path: path, body: body, want: hostile422, field: field}
	}
	add(
		invalid("role assistant", "POST", hostileMessages, `{"content":"hi","role":"assistant","process_llm":false}`, "role"),
		invalid("role Assistant", "POST", hostileMessages, `{"content":"hi","role":"Assistant","process_llm":false}`, "role"),
		invalid("role USER", "POST", hostileMessages, `{"content":"hi","role":"USER","process_llm":false}`, "role"),
		invalid("role owner", "POST", hostileMessages, `{"content":"hi","role":"owner","process_llm":false}`, "role"),
		invalid("llm_provider local", "POST", hostileSessions, `{"llm_provider":"local","llm_model":"m"}`, "llm_provider"),
		invalid("llm_provider Local", "POST", hostileSessions, `{"llm_provider":"Local","llm_model":"m"}`, "llm_provider"),
		invalid("llm_provider empty", "POST", hostileSessions, `{"llm_provider":"","llm_model":"m"}`, "llm_provider"),
		invalid("llm_provider openrouter on PUT", "PUT", hostileSession, `{"llm_provider":"openrouter"}`, "llm_provider"),
		invalid("llm_provider local on POST messages", "POST", hostileMessages, `{"content":"hi","llm_provider":"local","process_llm":false}`, "llm_provider"),
		invalid("llm_provider missing", "POST", hostileSessions, `{"llm_model":"m"}`, "llm_provider"),
		invalid("llm_model missing", "POST", hostileSessions, `{"llm_provider":"LOCAL"}`, "llm_model"),
		invalid("llm_model empty", "POST", hostileSessions, `{"llm_provider":"LOCAL","llm_model":""}`, "llm_model"),
		invalid("llm_model 201 characters", "POST", hostileSessions, `{"llm_provider":"LOCAL","llm_model":"`+strings.Repeat("m", 201)+`"}`, "llm_model"),
		invalid("title 201 characters", "POST", hostileSessions, `{"title":"`+strings.Repeat("t", 201)+`","llm_provider":"LOCAL","llm_model":"m"}`, "title"),
		invalid("title 201 multibyte characters", "POST", hostileSessions, `{"title":"`+strings.Repeat("ü", 201)+`","llm_provider":"LOCAL","llm_model":"m"}`, "title"),
		invalid("title 201 characters on PUT", "PUT", hostileSession, `{"title":"`+strings.Repeat("t", 201)+`"}`, "title"),
		invalid("content 32001 characters", "POST", hostileMessages, `{"content":"`+strings.Repeat("c", 32001)+`","process_llm":false}`, "content"),
		invalid("content 32001 multibyte characters", "POST", hostileMessages, `{"content":"`+strings.Repeat("ж", 32001)+`","process_llm":false}`, "content"),
		invalid("content empty", "POST", hostileMessages, `{"content":"","process_llm":false}`, "content"),
		invalid("content missing", "POST", hostileMessages, `{"process_llm":false}`, "content"),
		invalid("content null", "POST", hostileMessages, `{"content":null,"process_llm":false}`, "content"),
		invalid("edited content 32001 characters", "PUT", hostileMessage, `{"content":"`+strings.Repeat("c", 32001)+`"}`, "content"),
		invalid("edited content empty", "PUT", hostileMessage, `{"content":""}`, "content"),
		invalid("temperature 3", "POST", hostileSessions, `{"llm_provider":"LOCAL","llm_model":"m","settings":{"temperature":3}}`, "settings.temperature"),
		invalid("temperature -0.1 on PUT", "PUT", hostileSession, `{"settings":{"temperature":-0.1}}`, "settings.temperature"),
		invalid("top_p 0", "POST", hostileSessions, `{"llm_provider":"LOCAL","llm_model":"m","settings":{"top_p":0}}`, "settings.top_p"),
		invalid("top_p 1.5 on PUT", "PUT", hostileSession, `{"settings":{"top_p":1.5}}`, "settings.top_p"),
		invalid("max_tokens 0", "PUT", hostileSession, `{"settings":{"max_tokens":0}}`, "settings.max_tokens"),
		invalid("max_context_messages 0", "PUT", hostileSession, `{"settings":{"max_context_messages":0}}`, "settings.max_context_messages"),
		invalid("five stop sequences", "PUT", hostileSession, `{"settings":{"stop":["a","b","c","d","e"]}}`, "settings.stop"),
		invalid("empty stop sequence", "PUT", hostileSession, `{"settings":{"stop":["a",""]}}`, "settings.stop[1]"),
		invalid("participant role owner", "POST", hostileMembers, `{"user_id":"{B}","role":"owner"}`, "role"),
		invalid("participant role missing", "POST", hostileMembers, `{"user_id":"{B}"}`, "role"),
		invalid("participant user_id not canonical", "POST", hostileMembers, `{"user_id":"upper:{B}","role":"member"}`, "user_id"),
		hostileCase{name: "Idempotency-Key not UTF-8", method: "POST", path: hostileMessages, body: hostileOKMessage,
			headers: []harness.Header{{Name: "Idempotency-Key", Value: "key-\xff"}}, want: hostile400or422},
		hostileCase{name: "Idempotency-Key of 256 characters", method: "POST", path: hostileMessages, body: hostileOKMessage,
			headers: []harness.Header{{Name: "Idempotency-Key", Value: strings.Repeat("k", 256)}}, want: hostile422},
	)
	return cs
}

// hostileSpell writes an id in one of the odd spellings hostileCases names
// with ~spelling~id, and path-escapes it.
func hostileSpell(path string) string {
	for {
		start := strings.Index(path, "~")
		if start < 0 {
			return path
		}
		end := strings.Index(path[start+1:], "~") + start + 1
		format, rest := path[start+1:end], path[end+1:]
		id := rest[:36]
		var s string
		switch {
		case strings.HasPrefix(format, "nodash:"):
			s = strings.ReplaceAll(id, "-", "")
		case strings.HasPrefix(format, "upper:"):
			s = strings.ToUpper(id)
		case strings.HasPrefix(format, "short:"):
			s = id[:35]
		case strings.Contains(format, "%s"):
			s = fmt.Sprintf(format, id)
		default:
			s = format
		}
		path = path[:start] + url.PathEscape(s) + rest[36:]
	}
}

func TestHostileInput(t *testing.T) {
	type answer struct {
		status int
		typ    string
	}
	var mu sync.Mutex
	answers := map[string]answer{} // case name -> what the first dialect answered
	harness.ForEachDialect(t, func(t *testing.T, d harness.Dialect) {
		srv := harness.Start(t, harness.DefaultConfig(t, d))
		owner, other := srv.NewUser(t), srv.NewUser(t)
		sid := e2eCreateSession(t, owner, map[string]any{"title": "fixture", "llm_provider": "LOCAL", "llm_model": "llama3.2",
			"settings": map[string]any{"temperature": 0.5, "stop": []string{"END"}}})["id"].(string)
		mid := e2ePost(t, owner, sid, "fixture message")["id"].(string)
		ids := strings.NewReplacer("{S}", sid, "{M}", mid, "{U}", owner.UserID, "{B}", other.UserID)
		// The upper-case spelling inside a body needs the real id first.
		upper := func(s string) string {
			i := strings.Index(s, "upper:")
			if i < 0 {
				return s
			}
			return s[:i] + strings.ToUpper(s[i+6:i+42]) + s[i+42:]
		}

		snapshot := func(t *testing.T) string {
			var b strings.Builder
			for _, p := range []string{"/api/v1/chat/sessions?page_size=100", "/api/v1/chat/sessions/" + sid + "/messages?page_size=100",
				"/api/v1/chat/sessions/" + sid + "/participants"} {
				b.Write(e2eAs(t, srv, owner).Do("GET", p, nil).Expect(http.StatusOK).Body)
				b.WriteByte('\n')
			}
			b.Write(e2eAs(t, srv, other).Do("GET", "/api/v1/chat/sessions", nil).Expect(http.StatusOK).Body)
			return b.String()
		}
		before := snapshot(t)

		for _, c := range hostileCases() {
			t.Run(c.name, func(t *testing.T) {
				if c.bug != "" {
					t.Skip("BUG: " + c.bug)
				}
				path := hostileSpell(ids.Replace(c.path))
				var body any
				if s, ok := c.body.(string); ok {
					body = upper(ids.Replace(s))
				}
				client := e2eAs(t, srv, owner)
				if strings.HasPrefix(c.path, "/api/v1/auth/") {
					client = srv.Client(t)
				}
				start := time.Now()
				res := client.Do(c.method, path, body, c.headers...)
				took := time.Since(start)
				if !slices.Contains(c.want, res.Status) {
					t.Fatalf("status %d, want one of %v; body %.400s", res.Status, c.want, res.Body)
				}
				p := res.Problem(res.Status)
				if c.fast && took > hostileFastAnswer {
					t.Errorf("answered in %v, want under %v", took, hostileFastAnswer)
				}
				if strings.HasPrefix(p.Detail, " ") {
					t.Errorf("detail %q starts with a blank: a sentence without its subject", p.Detail)
				}
				named := false
				for _, e := range p.Errors {
					if e.Field == "" || e.Message == "" {
						t.Errorf("an errors entry without a field or a message: %+v", p.Errors)
					}
					named = named || e.Field == c.field
				}
				if c.field != "" && !named {
					t.Errorf("errors %+v do not name the field %q", p.Errors, c.field)
				}
				if c.method != "GET" {
					if after := snapshot(t); after != before {
						t.Fatalf("a refused request changed data\nbefore %s\nafter  %s", before, after)
					}
				}
				if c.login != "" {
					srv.Client(t).Login(c.login, "correct horse battery").Problem(http.StatusUnauthorized)
				}
				mu.Lock()
				defer mu.Unlock()
				got := answer{res.Status, p.Type}
				if prev, seen := answers[c.name]; seen && prev != got {
					t.Errorf("%s answers %+v, the other dialect %+v", d, got, prev)
				}
				answers[c.name] = got
			})
		}
	})
}

// TestHostileBodyLimit sends bodies over CHAT_MAX_BODY_BYTES, measured
// (Content-Length) and not (chunked): 413, and nothing stored.
func TestHostileBodyLimit(t *testing.T) {
	const limit = 4096
	harness.ForEachDialect(t, func(t *testing.T, d harness.Dialect) {
		cfg := harness.DefaultConfig(t, d)
		cfg.MaxBodyBytes = limit
		srv := harness.Start(t, cfg)
		owner, other := srv.NewUser(t), srv.NewUser(t)
		sid := e2eNewSession(t, owner, "limits")
		mid := e2ePost(t, owner, sid, "small")["id"].(string)

		snapshot := func(t *testing.T) string {
			var b strings.Builder
			for _, p := range []string{"/api/v1/chat/sessions", "/api/v1/chat/sessions/" + sid + "/messages", "/api/v1/chat/sessions/" + sid + "/participants"} {
				b.Write(e2eAs(t, srv, owner).Do("GET", p, nil).Expect(http.StatusOK).Body)
			}
			return b.String()
		}
		before := snapshot(t)

		big := strings.Repeat("x", 2*limit)
		cases := []struct {
			name, method, path, body string
			token                    string
		}{
			{"POST sessions", "POST", "/api/v1/chat/sessions", `{"title":"t","llm_provider":"LOCAL","llm_model":"` + big + `"}`, owner.Token},
			{"PUT session", "PUT", "/api/v1/chat/sessions/" + sid, `{"settings":{"system_prompt":"` + big + `"}}`, owner.Token},
			{"POST messages", "POST", "/api/v1/chat/sessions/" + sid + "/messages", `{"content":"` + big + `","process_llm":false}`, owner.Token},
			{"PUT message", "PUT", "/api/v1/chat/messages/" + mid, `{"content":"` + big + `"}`, owner.Token},
			{"POST participants", "POST", "/api/v1/chat/sessions/" + sid + "/participants", `{"user_id":"` + other.UserID + `","role":"member","x":"` + big + `"}`, owner.Token},
			{"register", "POST", "/api/v1/auth/register", `{"email":"big@example.com","password":"correct horse battery","display_name":"` + big + `"}`, ""},
			{"far over the limit", "POST", "/api/v1/chat/sessions/" + sid + "/messages", `{"content":"` + strings.Repeat("y", 200*limit) + `","process_llm":false}`, owner.Token},
		}
		for _, c := range cases {
			t.Run(c.name+" with Content-Length", func(t *testing.T) {
				client := srv.Client(t)
				client.Token = c.token
				client.Do(c.method, c.path, c.body).Problem(http.StatusRequestEntityTooLarge)
				if after := snapshot(t); after != before {
					t.Fatalf("a refused body changed data\nbefore %s\nafter  %s", before, after)
				}
			})
			t.Run(c.name+" chunked", func(t *testing.T) {
				// A reader of unknown length makes the transport send the body chunked, without Content-Length.
				body := io.MultiReader(strings.NewReader(c.body))
				st, h, raw := e2eRaw(t, srv, c.token, c.method, c.path, body, map[string]string{"Content-Type": "application/json"})
				e2eRawProblem(t, c.name+" chunked", st, h, raw, http.StatusRequestEntityTooLarge)
				if after := snapshot(t); after != before {
					t.Fatalf("a refused body changed data\nbefore %s\nafter  %s", before, after)
				}
			})
		}
		srv.Client(t).Login("big@example.com", "correct horse battery").Problem(http.StatusUnauthorized)

		// A route that reads no body still refuses one over the limit, however it is framed.
		doomed := e2eNewSession(t, owner, "oversized delete")
		big = `{"x":"` + big + `"}`
		t.Run("DELETE session with an oversized body with Content-Length", func(t *testing.T) {
			owner := e2eAs(t, srv, owner)
			owner.Do("DELETE", "/api/v1/chat/sessions/"+doomed, big).Problem(http.StatusRequestEntityTooLarge)
			e2eList(t, owner, "/api/v1/chat/sessions/"+doomed)
		})
		t.Run("DELETE session with an oversized body chunked", func(t *testing.T) {
			st, h, raw := e2eRaw(t, srv, owner.Token, "DELETE", "/api/v1/chat/sessions/"+doomed,
				io.MultiReader(strings.NewReader(big)), map[string]string{"Content-Type": "application/json"})
			e2eRawProblem(t, "chunked DELETE", st, h, raw, http.StatusRequestEntityTooLarge)
			e2eList(t, e2eAs(t, srv, owner), "/api/v1/chat/sessions/"+doomed)
		})

		// Just under the limit is fine, measured or chunked.
		under := `{"content":"` + strings.Repeat("z", limit-100) + `","process_llm":false}`
		owner.Do("POST", "/api/v1/chat/sessions/"+sid+"/messages", under).Expect(http.StatusCreated)
		st, _, raw := e2eRaw(t, srv, owner.Token, "POST", "/api/v1/chat/sessions/"+sid+"/messages",
			io.MultiReader(strings.NewReader(under)), map[string]string{"Content-Type": "application/json"})
		if st != http.StatusCreated {
			t.Fatalf("a chunked body under the limit: %d %s", st, raw)
		}
		if n := e2eList(t, owner, "/api/v1/chat/sessions/"+sid+"/messages")["total_count"]; n != float64(3) {
			t.Fatalf("messages = %v, want 3", n)
		}
	})
}
