package e2e

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/test/harness"
)

// Helpers shared by sessions_test.go, messages_test.go, access_test.go and
// hostile_input_test.go. They carry an e2e prefix so that they do not clash
// with helpers of other files in this package.

var (
	e2eTimeFormat = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$`)
	e2eUUIDFormat = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// e2eAs returns a client of the same user bound to t, so that a subtest fails
// on its own test and not on the one that registered the user.
func e2eAs(t testing.TB, srv *harness.Server, u *harness.Client) *harness.Client {
	c := srv.Client(t)
	c.Token, c.RefreshToken, c.UserID, c.Email = u.Token, u.RefreshToken, u.UserID, u.Email
	return c
}

// e2eRandomID is a random version 4 UUID in canonical form: an id nobody has.
func e2eRandomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// e2eNormal turns a Go value into what decoding its JSON gives (numbers
// become float64), so it compares with reflect.DeepEqual against bodies.
func e2eNormal(t testing.TB, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %v: %v", v, err)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("unmarshal %s: %v", raw, err)
	}
	return out
}

// e2eTime checks that v is a timestamp in the contract's form and parses it.
func e2eTime(t testing.TB, name string, v any) time.Time {
	t.Helper()
	s, ok := v.(string)
	if !ok || !e2eTimeFormat.MatchString(s) {
		t.Fatalf("%s = %#v, want a timestamp like 2006-01-02T15:04:05.000Z", name, v)
	}
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("%s = %q: %v", name, s, err)
	}
	return ts
}

// e2eCreateSession creates a session and returns its body.
func e2eCreateSession(t testing.TB, c *harness.Client, body map[string]any) map[string]any {
	t.Helper()
	return c.Do("POST", "/api/v1/chat/sessions", body).Expect(http.StatusCreated).Map()
}

// e2eNewSession creates a LOCAL llama3.2 session with a title.
func e2eNewSession(t testing.TB, c *harness.Client, title string) string {
	t.Helper()
	return e2eCreateSession(t, c, map[string]any{"title": title, "llm_provider": "LOCAL", "llm_model": "llama3.2"})["id"].(string)
}

// e2ePost posts a message without asking for a reply and returns the stored
// user message. extra adds or overrides body fields.
func e2ePost(t testing.TB, c *harness.Client, sessionID, content string, extra ...map[string]any) map[string]any {
	t.Helper()
	body := map[string]any{"content": content, "process_llm": false}
	for _, e := range extra {
		for k, v := range e {
			body[k] = v
		}
	}
	res := c.Do("POST", "/api/v1/chat/sessions/"+sessionID+"/messages", body).Expect(http.StatusCreated).Map()
	if res["assistant_message"] != nil {
		t.Fatalf("process_llm false started a reply: %v", res["assistant_message"])
	}
	return res["user_message"].(map[string]any)
}

// e2eList gets a list route and returns its body.
func e2eList(t testing.TB, c *harness.Client, path string) map[string]any {
	t.Helper()
	return c.Do("GET", path, nil).Expect(http.StatusOK).Map()
}

// e2eIDs lists the ids of the items under key in a list body.
func e2eIDs(body map[string]any, key string) []string {
	items, _ := body[key].([]any)
	ids := make([]string, 0, len(items))
	for _, it := range items {
		ids = append(ids, it.(map[string]any)["id"].(string))
	}
	return ids
}

// e2ePage checks a list body's pagination half and its item ids.
func e2ePage(t testing.TB, body map[string]any, key string, page, size, total int, hasMore bool, ids ...string) {
	t.Helper()
	if body["page"] != float64(page) || body["page_size"] != float64(size) || body["total_count"] != float64(total) || body["has_more"] != hasMore {
		t.Fatalf("pagination = page %v, page_size %v, total_count %v, has_more %v; want %d, %d, %d, %v",
			body["page"], body["page_size"], body["total_count"], body["has_more"], page, size, total, hasMore)
	}
	if got := e2eIDs(body, key); !reflect.DeepEqual(got, append([]string{}, ids...)) {
		t.Fatalf("%s = %v, want %v", key, got, ids)
	}
}

// e2eRaw sends a request outside the harness client: a chunked body (a
// reader the transport cannot measure) or a WebSocket handshake. The answer
// is still checked against the OpenAPI document and for X-Request-ID.
func e2eRaw(t testing.TB, srv *harness.Server, token, method, path string, body io.Reader, headers map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, body)
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	if resp.Header.Get("X-Request-ID") == "" {
		t.Errorf("%s %s: no X-Request-ID on the response", method, path)
	}
	harness.LoadSpec(t).Check(t, req, resp.StatusCode, resp.Header, raw)
	return resp.StatusCode, resp.Header, raw
}

// e2eRawProblem checks that a raw answer is a complete problem with status want.
func e2eRawProblem(t testing.TB, what string, status int, header http.Header, body []byte, want int) harness.Problem {
	t.Helper()
	if status != want {
		t.Fatalf("%s: status %d, want %d; body %.400s", what, status, want, body)
	}
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("%s: content type %q, want application/problem+json", what, ct)
	}
	var p harness.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("%s: decode %.300s: %v", what, body, err)
	}
	if p.Status != want || p.Type == "" || p.Title == "" || p.Detail == "" {
		t.Fatalf("%s: incomplete problem %+v", what, p)
	}
	return p
}

// e2eMe returns the caller's user body.
func e2eMe(t testing.TB, c *harness.Client) map[string]any {
	t.Helper()
	return c.Do("GET", "/api/v1/auth/me", nil).Expect(http.StatusOK).Map()
}

func TestSessions(t *testing.T) {
	harness.ForEachDialect(t, func(t *testing.T, d harness.Dialect) {
		srv := harness.Start(t, harness.DefaultConfig(t, d))

		t.Run("create and get", func(t *testing.T) {
			owner := srv.NewUser(t)
			settings := map[string]any{
				"system_prompt": "Answer briefly.", "temperature": 0.7, "top_p": 0.9, "max_tokens": 256,
				"max_context_messages": 20, "stop": []string{"###", "END"}, "fallback_models": []string{"llama3.1", "qwen2.5"},
			}
			before := time.Now().Add(-time.Second)
			s := e2eCreateSession(t, owner, map[string]any{
				"title": "Trip planning", "llm_provider": "LOCAL", "llm_model": "llama3.2", "settings": settings,
			})
			after := time.Now().Add(time.Second)
			id, _ := s["id"].(string)
			if !e2eUUIDFormat.MatchString(id) {
				t.Fatalf("id = %#v, want a canonical UUID", s["id"])
			}
			want := map[string]any{
				"id": id, "user_id": owner.UserID, "title": "Trip planning", "llm_provider": "LOCAL",
				"llm_model": "llama3.2", "settings": e2eNormal(t, settings), "is_active": true,
				"message_count": float64(0), "last_message_at": nil, "current_message_id": nil,
				"created_at": s["created_at"], "updated_at": s["updated_at"],
			}
			if !reflect.DeepEqual(s, want) {
				t.Fatalf("created session\n got %v\nwant %v", s, want)
			}
			created := e2eTime(t, "created_at", s["created_at"])
			if created.Before(before) || created.After(after) {
				t.Fatalf("created_at %v is not now (%v..%v)", created, before, after)
			}
			if s["updated_at"] != s["created_at"] {
				t.Fatalf("a new session has updated_at %v != created_at %v", s["updated_at"], s["created_at"])
			}
			if got := e2eList(t, owner, "/api/v1/chat/sessions/"+id); !reflect.DeepEqual(got, s) {
				t.Fatalf("GET answers another session than POST\n got %v\nwant %v", got, s)
			}

			// Only the required fields: no title, default settings.
			m := e2eCreateSession(t, owner, map[string]any{"llm_provider": "OPENROUTER", "llm_model": "openai/gpt-4o"})
			if m["title"] != "" || !reflect.DeepEqual(m["settings"], map[string]any{}) || m["llm_provider"] != "OPENROUTER" ||
				m["llm_model"] != "openai/gpt-4o" || m["is_active"] != true || m["user_id"] != owner.UserID {
				t.Fatalf("minimal session = %v", m)
			}

			// A title of 200 characters (not bytes) is allowed.
			long := strings.Repeat("é", 200)
			l := e2eCreateSession(t, owner, map[string]any{"title": long, "llm_provider": "LOCAL", "llm_model": "m"})
			if l["title"] != long {
				t.Fatalf("title of 200 characters came back as %q", l["title"])
			}
		})

		t.Run("list, filters, pagination and activity order", func(t *testing.T) {
			owner := srv.NewUser(t)
			mk := func(title, provider string) string {
				return e2eCreateSession(t, owner, map[string]any{"title": title, "llm_provider": provider, "llm_model": "m"})["id"].(string)
			}
			a, b, c, dd, e := mk("a", "LOCAL"), mk("b", "OPENROUTER"), mk("c", "LOCAL"), mk("d", "LOCAL"), mk("e", "OPENROUTER")

			all := e2eList(t, owner, "/api/v1/chat/sessions")
			e2ePage(t, all, "sessions", 1, 20, 5, false, e, dd, c, b, a)
			for _, s := range all["sessions"].([]any) {
				if s.(map[string]any)["user_id"] != owner.UserID {
					t.Fatalf("listed a session of someone else: %v", s)
				}
			}

			e2ePage(t, e2eList(t, owner, "/api/v1/chat/sessions?page_size=2"), "sessions", 1, 2, 5, true, e, dd)
			e2ePage(t, e2eList(t, owner, "/api/v1/chat/sessions?page=2&page_size=2"), "sessions", 2, 2, 5, true, c, b)
			e2ePage(t, e2eList(t, owner, "/api/v1/chat/sessions?page=3&page_size=2"), "sessions", 3, 2, 5, false, a)
			e2ePage(t, e2eList(t, owner, "/api/v1/chat/sessions?page=4&page_size=2"), "sessions", 4, 2, 5, false)

			e2ePage(t, e2eList(t, owner, "/api/v1/chat/sessions?llm_provider=OPENROUTER"), "sessions", 1, 20, 2, false, e, b)
			e2ePage(t, e2eList(t, owner, "/api/v1/chat/sessions?llm_provider=LOCAL"), "sessions", 1, 20, 3, false, dd, c, a)

			// Posting to the oldest session makes it the newest activity.
			time.Sleep(5 * time.Millisecond)
			e2ePost(t, owner, a, "bump")
			e2ePage(t, e2eList(t, owner, "/api/v1/chat/sessions"), "sessions", 1, 20, 5, false, a, e, dd, c, b)
			e2ePage(t, e2eList(t, owner, "/api/v1/chat/sessions?page=2&page_size=3"), "sessions", 2, 3, 5, false, c, b)

			owner.Do("PUT", "/api/v1/chat/sessions/"+dd, map[string]any{"is_active": false}).Expect(http.StatusOK)
			e2ePage(t, e2eList(t, owner, "/api/v1/chat/sessions?is_active=false"), "sessions", 1, 20, 1, false, dd)
			e2ePage(t, e2eList(t, owner, "/api/v1/chat/sessions?is_active=true"), "sessions", 1, 20, 4, false, a, e, c, b)
			e2ePage(t, e2eList(t, owner, "/api/v1/chat/sessions?is_active=true&llm_provider=LOCAL"), "sessions", 1, 20, 2, false, a, c)

			// Another user sees none of them.
			e2ePage(t, e2eList(t, srv.NewUser(t), "/api/v1/chat/sessions"), "sessions", 1, 20, 0, false)
		})

		t.Run("update changes only the fields present", func(t *testing.T) {
			owner := srv.NewUser(t)
			s := e2eCreateSession(t, owner, map[string]any{
				"title": "Before", "llm_provider": "LOCAL", "llm_model": "llama3.2", "settings": map[string]any{"temperature": 0.5},
			})
			id := s["id"].(string)
			path := "/api/v1/chat/sessions/" + id
			step := func(body map[string]any, changes map[string]any) {
				t.Helper()
				prev := e2eList(t, owner, path)
				time.Sleep(3 * time.Millisecond)
				got := owner.Do("PUT", path, body).Expect(http.StatusOK).Map()
				want := map[string]any{}
				for k, v := range prev {
					want[k] = v
				}
				for k, v := range changes {
					want[k] = e2eNormal(t, v)
				}
				want["updated_at"] = got["updated_at"]
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("PUT %v\n got %v\nwant %v", body, got, want)
				}
				prevAt, gotAt := e2eTime(t, "updated_at", prev["updated_at"]), e2eTime(t, "updated_at", got["updated_at"])
				if gotAt.Before(prevAt) || (len(changes) > 0 && !gotAt.After(prevAt)) {
					t.Fatalf("PUT %v moved updated_at from %v to %v", body, prev["updated_at"], got["updated_at"])
				}
				if again := e2eList(t, owner, path); !reflect.DeepEqual(again, got) {
					t.Fatalf("GET after PUT %v\n got %v\nwant %v", body, again, got)
				}
			}
			step(map[string]any{"title": "After"}, map[string]any{"title": "After"})
			step(map[string]any{"settings": map[string]any{"top_p": 0.5, "stop": []string{"END"}}},
				map[string]any{"settings": map[string]any{"top_p": 0.5, "stop": []string{"END"}}})
			step(map[string]any{"llm_provider": "OPENROUTER", "llm_model": "openai/gpt-4o"},
				map[string]any{"llm_provider": "OPENROUTER", "llm_model": "openai/gpt-4o"})
			step(map[string]any{"is_active": false}, map[string]any{"is_active": false})
			step(map[string]any{}, nil)
			step(map[string]any{"title": "", "is_active": true}, map[string]any{"title": "", "is_active": true})
			if got := e2eList(t, owner, path); got["created_at"] != s["created_at"] || got["user_id"] != owner.UserID {
				t.Fatalf("updates changed created_at or owner: %v", got)
			}
		})

		t.Run("delete takes the messages with it", func(t *testing.T) {
			owner := srv.NewUser(t)
			keep := e2eNewSession(t, owner, "keep")
			id := e2eNewSession(t, owner, "doomed")
			m1 := e2ePost(t, owner, id, "one")
			m2 := e2ePost(t, owner, id, "two")
			path := "/api/v1/chat/sessions/" + id

			r := owner.Do("DELETE", path, nil).Expect(http.StatusNoContent)
			if len(r.Body) != 0 {
				t.Fatalf("204 with a body: %q", r.Body)
			}
			owner.Do("GET", path, nil).Problem(http.StatusNotFound)
			owner.Do("GET", path+"/messages", nil).Problem(http.StatusNotFound)
			owner.Do("GET", path+"/participants", nil).Problem(http.StatusNotFound)
			owner.Do("PUT", path, map[string]any{"title": "back"}).Problem(http.StatusNotFound)
			owner.Do("POST", path+"/messages", map[string]any{"content": "hello?", "process_llm": false}).Problem(http.StatusNotFound)
			owner.Do("DELETE", path, nil).Problem(http.StatusNotFound)
			for _, m := range []map[string]any{m1, m2} {
				owner.Do("PUT", "/api/v1/chat/messages/"+m["id"].(string), map[string]any{"content": "edit"}).Problem(http.StatusNotFound)
			}
			e2ePage(t, e2eList(t, owner, "/api/v1/chat/sessions"), "sessions", 1, 20, 1, false, keep)
			st := e2eList(t, owner, "/api/v1/chat/stats")
			if st["total_sessions"] != float64(1) || st["total_messages"] != float64(0) {
				t.Fatalf("stats after delete = %v", st)
			}
		})

		t.Run("participants", func(t *testing.T) {
			owner, bob, carol := srv.NewUser(t), srv.NewUser(t), srv.NewUser(t)
			id := e2eNewSession(t, owner, "shared")
			path := "/api/v1/chat/sessions/" + id + "/participants"
			me := map[string]map[string]any{}
			for _, c := range []*harness.Client{owner, bob, carol} {
				me[c.UserID] = e2eMe(t, c)
			}
			check := func(p map[string]any, c *harness.Client, role string) {
				t.Helper()
				e2eTime(t, "participant created_at", p["created_at"])
				want := map[string]any{"session_id": id, "user_id": c.UserID, "role": role, "email": c.Email,
					"display_name": me[c.UserID]["display_name"], "created_at": p["created_at"]}
				if !reflect.DeepEqual(p, want) {
					t.Fatalf("participant\n got %v\nwant %v", p, want)
				}
			}

			list := e2eList(t, owner, path)["participants"].([]any)
			if len(list) != 1 {
				t.Fatalf("a new session has participants %v", list)
			}
			check(list[0].(map[string]any), owner, "owner")

			check(owner.Do("POST", path, map[string]any{"user_id": bob.UserID, "role": "member"}).Expect(http.StatusCreated).Map(), bob, "member")
			// Emails match in any letter case, as at login.
			check(owner.Do("POST", path, map[string]any{"email": strings.ToUpper(carol.Email), "role": "viewer"}).Expect(http.StatusCreated).Map(), carol, "viewer")

			list = e2eList(t, owner, path)["participants"].([]any)
			if len(list) != 3 {
				t.Fatalf("participants = %v, want 3", list)
			}
			byID := map[string]map[string]any{}
			for _, p := range list {
				byID[p.(map[string]any)["user_id"].(string)] = p.(map[string]any)
			}
			check(byID[owner.UserID], owner, "owner")
			check(byID[bob.UserID], bob, "member")
			check(byID[carol.UserID], carol, "viewer")
			// Every participant may read the list.
			if got := e2eList(t, carol, path); len(got["participants"].([]any)) != 3 {
				t.Fatalf("the viewer sees participants %v", got)
			}

			// Adding someone twice, in any way, is a conflict.
			owner.Do("POST", path, map[string]any{"user_id": bob.UserID, "role": "member"}).Problem(http.StatusConflict)
			owner.Do("POST", path, map[string]any{"email": bob.Email, "role": "viewer"}).Problem(http.StatusConflict)
			owner.Do("POST", path, map[string]any{"user_id": carol.UserID, "role": "member"}).Problem(http.StatusConflict)
			owner.Do("POST", path, map[string]any{"user_id": owner.UserID, "role": "member"}).Problem(http.StatusConflict)

			// The owner cannot be removed, nor granted.
			owner.Do("DELETE", path+"/"+owner.UserID, nil).Problem(http.StatusUnprocessableEntity)
			dave := srv.NewUser(t)
			p := owner.Do("POST", path, map[string]any{"user_id": dave.UserID, "role": "owner"}).Problem(http.StatusUnprocessableEntity)
			if len(p.Errors) == 0 || p.Errors[0].Field != "role" {
				t.Fatalf("role owner: %+v", p)
			}
			owner.Do("POST", path, map[string]any{"user_id": dave.UserID, "email": dave.Email, "role": "member"}).Problem(http.StatusUnprocessableEntity)
			owner.Do("POST", path, map[string]any{"role": "member"}).Problem(http.StatusUnprocessableEntity)
			if got := e2eList(t, owner, path)["participants"].([]any); len(got) != 3 {
				t.Fatalf("refused changes changed the participants: %v", got)
			}
			if s := e2eList(t, owner, "/api/v1/chat/sessions/"+id); s["user_id"] != owner.UserID {
				t.Fatalf("the owner changed: %v", s)
			}

			// A participant sees the session in their list; after removal, not at all.
			e2ePage(t, e2eList(t, bob, "/api/v1/chat/sessions"), "sessions", 1, 20, 1, false, id)
			owner.Do("DELETE", path+"/"+bob.UserID, nil).Expect(http.StatusNoContent)
			owner.Do("DELETE", path+"/"+bob.UserID, nil).Problem(http.StatusNotFound)
			if got := e2eList(t, owner, path)["participants"].([]any); len(got) != 2 {
				t.Fatalf("participants after removal = %v", got)
			}
			bob.Do("GET", "/api/v1/chat/sessions/"+id, nil).Problem(http.StatusNotFound)
			e2ePage(t, e2eList(t, bob, "/api/v1/chat/sessions"), "sessions", 1, 20, 0, false)
		})
	})
}
