package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/test/harness"
)

func TestMessages(t *testing.T) {
	harness.ForEachDialect(t, func(t *testing.T, d harness.Dialect) {
		srv := harness.Start(t, harness.DefaultConfig(t, d))

		t.Run("post, list both ways, session counters", func(t *testing.T) {
			owner := srv.NewUser(t)
			sid := e2eNewSession(t, owner, "talk")
			path := "/api/v1/chat/sessions/" + sid + "/messages"

			// The first message: every field as the contract says.
			before := time.Now().Add(-time.Second)
			m1 := e2ePost(t, owner, sid, "first")
			id1, _ := m1["id"].(string)
			if !e2eUUIDFormat.MatchString(id1) {
				t.Fatalf("id = %#v", m1["id"])
			}
			want := map[string]any{
				"id": id1, "session_id": sid, "user_id": owner.UserID, "parent_id": nil, "role": "user",
				"content": "first", "llm_provider": "LOCAL", "llm_model": "llama3.2", "response_time_ms": nil,
				"tokens_used": nil, "error_message": nil, "is_streaming": false, "status": "completed",
				"message_metadata": map[string]any{}, "created_at": m1["created_at"], "updated_at": m1["created_at"],
			}
			if !reflect.DeepEqual(m1, want) {
				t.Fatalf("posted message\n got %v\nwant %v", m1, want)
			}
			if at := e2eTime(t, "created_at", m1["created_at"]); at.Before(before) || at.After(time.Now().Add(time.Second)) {
				t.Fatalf("created_at %v is not now", at)
			}

			// Each next message answers the one before; system messages may be posted.
			msgs := []map[string]any{m1}
			for i, content := range []string{"second", "a system note", "fourth", "fifth"} {
				var m map[string]any
				if i == 1 {
					m = e2ePost(t, owner, sid, content, map[string]any{"role": "system"})
				} else {
					m = e2ePost(t, owner, sid, content)
				}
				if m["parent_id"] != msgs[len(msgs)-1]["id"] {
					t.Fatalf("message %q has parent_id %v, want %v", content, m["parent_id"], msgs[len(msgs)-1]["id"])
				}
				msgs = append(msgs, m)
			}
			if msgs[2]["role"] != "system" || msgs[1]["role"] != "user" {
				t.Fatalf("roles = %v, %v", msgs[1]["role"], msgs[2]["role"])
			}
			ids := make([]string, len(msgs))
			for i, m := range msgs {
				ids[i] = m["id"].(string)
			}

			// The list holds exactly what the posts answered, oldest first by default.
			all := e2eList(t, owner, path)
			e2ePage(t, all, "messages", 1, 20, 5, false, ids...)
			for i, m := range all["messages"].([]any) {
				if m := withoutSiblings(t, m.(map[string]any)); !reflect.DeepEqual(m, msgs[i]) {
					t.Fatalf("listed message %d\n got %v\nwant %v", i, m, msgs[i])
				}
			}
			e2ePage(t, e2eList(t, owner, path+"?order=asc&page_size=2"), "messages", 1, 2, 5, true, ids[0], ids[1])
			e2ePage(t, e2eList(t, owner, path+"?order=asc&page_size=2&page=2"), "messages", 2, 2, 5, true, ids[2], ids[3])
			e2ePage(t, e2eList(t, owner, path+"?order=asc&page_size=2&page=3"), "messages", 3, 2, 5, false, ids[4])
			e2ePage(t, e2eList(t, owner, path+"?order=desc"), "messages", 1, 20, 5, false, ids[4], ids[3], ids[2], ids[1], ids[0])
			e2ePage(t, e2eList(t, owner, path+"?order=desc&page_size=2"), "messages", 1, 2, 5, true, ids[4], ids[3])
			e2ePage(t, e2eList(t, owner, path+"?order=desc&page_size=2&page=2"), "messages", 2, 2, 5, true, ids[2], ids[1])
			e2ePage(t, e2eList(t, owner, path+"?order=desc&page_size=2&page=3"), "messages", 3, 2, 5, false, ids[0])
			e2ePage(t, e2eList(t, owner, path+"?page=9"), "messages", 9, 20, 5, false)

			s := e2eList(t, owner, "/api/v1/chat/sessions/"+sid)
			if s["message_count"] != float64(5) || s["last_message_at"] != msgs[4]["created_at"] {
				t.Fatalf("session after 5 posts: message_count %v, last_message_at %v (newest message at %v)",
					s["message_count"], s["last_message_at"], msgs[4]["created_at"])
			}
		})

		t.Run("edit by the author only", func(t *testing.T) {
			owner, member := srv.NewUser(t), srv.NewUser(t)
			sid := e2eNewSession(t, owner, "edits")
			owner.Do("POST", "/api/v1/chat/sessions/"+sid+"/participants",
				map[string]any{"user_id": member.UserID, "role": "member"}).Expect(http.StatusCreated)
			m1 := e2ePost(t, owner, sid, "original")
			sys := e2ePost(t, owner, sid, "system text", map[string]any{"role": "system"})
			theirs := e2ePost(t, member, sid, "member's words")
			if theirs["parent_id"] != sys["id"] || theirs["user_id"] != member.UserID {
				t.Fatalf("member's message = %v", theirs)
			}
			mpath := "/api/v1/chat/messages/" + m1["id"].(string)

			edit := func(body map[string]any, content any, meta map[string]any) map[string]any {
				t.Helper()
				prev := m1
				time.Sleep(3 * time.Millisecond)
				got := owner.Do("PUT", mpath, body).Expect(http.StatusOK).Map()
				want := map[string]any{}
				for k, v := range prev {
					want[k] = v
				}
				want["content"], want["message_metadata"], want["updated_at"] = content, e2eNormal(t, meta), got["updated_at"]
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("PUT %v\n got %v\nwant %v", body, got, want)
				}
				if !e2eTime(t, "updated_at", got["updated_at"]).After(e2eTime(t, "updated_at", prev["updated_at"])) {
					t.Fatalf("edit did not move updated_at: %v -> %v", prev["updated_at"], got["updated_at"])
				}
				m1 = got
				return got
			}
			meta := map[string]any{"lang": "en", "n": 1, "tags": []string{"a", "b"}, "nested": map[string]any{"ok": true}}
			edit(map[string]any{"content": "edited", "message_metadata": meta}, "edited", meta)
			edit(map[string]any{"message_metadata": map[string]any{"x": true}}, "edited", map[string]any{"x": true})
			edit(map[string]any{"content": "again"}, "again", map[string]any{"x": true})

			listed := e2eList(t, owner, "/api/v1/chat/sessions/"+sid+"/messages")["messages"].([]any)
			if got := withoutSiblings(t, listed[0].(map[string]any)); !reflect.DeepEqual(got, m1) {
				t.Fatalf("list after edits\n got %v\nwant %v", listed[0], m1)
			}

			// Another member may not edit it; nobody edits a system message; the member edits their own.
			member.Do("PUT", mpath, map[string]any{"content": "hijacked"}).Problem(http.StatusForbidden)
			owner.Do("PUT", "/api/v1/chat/messages/"+theirs["id"].(string), map[string]any{"content": "hijacked"}).Problem(http.StatusForbidden)
			owner.Do("PUT", "/api/v1/chat/messages/"+sys["id"].(string), map[string]any{"content": "rewritten"}).Problem(http.StatusForbidden)
			mine := member.Do("PUT", "/api/v1/chat/messages/"+theirs["id"].(string), map[string]any{"content": "member, edited"}).Expect(http.StatusOK).Map()
			if mine["content"] != "member, edited" {
				t.Fatalf("member's edit = %v", mine)
			}
			listed = e2eList(t, owner, "/api/v1/chat/sessions/"+sid+"/messages")["messages"].([]any)
			if listed[0].(map[string]any)["content"] != "again" || listed[1].(map[string]any)["content"] != "system text" {
				t.Fatalf("refused edits changed messages: %v", listed)
			}
			if s := e2eList(t, owner, "/api/v1/chat/sessions/"+sid); s["message_count"] != float64(3) {
				t.Fatalf("edits changed message_count: %v", s["message_count"])
			}
		})

		t.Run("idempotency key", func(t *testing.T) {
			owner := srv.NewUser(t)
			sid := e2eNewSession(t, owner, "retries")
			path := "/api/v1/chat/sessions/" + sid + "/messages"
			count := func() float64 {
				t.Helper()
				return e2eList(t, owner, path)["total_count"].(float64)
			}
			key := harness.Header{Name: "Idempotency-Key", Value: "retry-" + e2eRandomID()}
			body := map[string]any{"content": "exactly once", "process_llm": false}

			first := owner.Do("POST", path, body, key).Expect(http.StatusCreated).Map()
			second := owner.Do("POST", path, body, key).Expect(http.StatusCreated).Map()
			if !reflect.DeepEqual(first, second) {
				t.Fatalf("a replay answered another body\nfirst  %v\nsecond %v", first, second)
			}
			if n := count(); n != 1 {
				t.Fatalf("two posts with one key stored %v messages", n)
			}

			// The same key with another body is a conflict and stores nothing.
			owner.Do("POST", path, map[string]any{"content": "something else", "process_llm": false}, key).Problem(http.StatusConflict)
			owner.Do("POST", path, map[string]any{"content": "exactly once", "role": "system", "process_llm": false}, key).Problem(http.StatusConflict)
			if n := count(); n != 1 {
				t.Fatalf("a conflicting key stored a message: %v", n)
			}

			// Another key is another message; no key always posts.
			other := owner.Do("POST", path, body, harness.Header{Name: "Idempotency-Key", Value: "retry-" + e2eRandomID()}).Expect(http.StatusCreated).Map()
			if other["user_message"].(map[string]any)["id"] == first["user_message"].(map[string]any)["id"] {
				t.Fatal("another key replayed the first message")
			}
			e2ePost(t, owner, sid, "exactly once")
			if n := count(); n != 3 {
				t.Fatalf("messages = %v, want 3", n)
			}
			if s := e2eList(t, owner, "/api/v1/chat/sessions/"+sid); s["message_count"] != float64(3) {
				t.Fatalf("replays counted in message_count: %v", s["message_count"])
			}
		})

		t.Run("concurrent retries with one key store one message", func(t *testing.T) {
			owner := srv.NewUser(t)
			sid := e2eNewSession(t, owner, "racing retries")
			path := "/api/v1/chat/sessions/" + sid + "/messages"
			const retries = 8
			body := `{"content":"sent eight times at once","process_llm":false}`
			key := "race-" + e2eRandomID()
			type answer struct {
				req    *http.Request
				status int
				header http.Header
				body   []byte
				err    error
			}
			answers := make([]answer, retries)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range retries {
				wg.Go(func() {
					req, err := http.NewRequestWithContext(t.Context(), "POST", srv.URL+path, strings.NewReader(body))
					if err != nil {
						answers[i].err = err
						return
					}
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+owner.Token)
					req.Header.Set("Idempotency-Key", key)
					<-start
					resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
					if err != nil {
						answers[i].err = err
						return
					}
					defer func() { _ = resp.Body.Close() }()
					raw, err := io.ReadAll(resp.Body)
					answers[i] = answer{req: req, status: resp.StatusCode, header: resp.Header, body: raw, err: err}
				})
			}
			close(start)
			wg.Wait()
			var first string
			for i, a := range answers {
				if a.err != nil {
					t.Fatalf("retry %d: %v", i, a.err)
				}
				harness.LoadSpec(t).Check(t, a.req, a.status, a.header, a.body)
				if a.status != http.StatusCreated {
					t.Fatalf("retry %d: status %d, body %s", i, a.status, a.body)
				}
				var res struct {
					UserMessage struct {
						ID string `json:"id"`
					} `json:"user_message"`
				}
				if err := json.Unmarshal(a.body, &res); err != nil || res.UserMessage.ID == "" {
					t.Fatalf("retry %d: body %s", i, a.body)
				}
				if first == "" {
					first = res.UserMessage.ID
				} else if res.UserMessage.ID != first {
					t.Fatalf("retry %d answered message %s, another answered %s", i, res.UserMessage.ID, first)
				}
			}
			e2ePage(t, e2eList(t, owner, path), "messages", 1, 20, 1, false, first)
			if s := e2eList(t, owner, "/api/v1/chat/sessions/"+sid); s["message_count"] != float64(1) {
				t.Fatalf("message_count = %v, want 1", s["message_count"])
			}
		})

		t.Run("sloppy but valid posts and the length boundary", func(t *testing.T) {
			owner := srv.NewUser(t)
			sid := e2eNewSession(t, owner, "boundaries")
			path := "/api/v1/chat/sessions/" + sid + "/messages"
			owner.Do("POST", path, "{\"content\":\"trailing newline\",\"process_llm\":false}\n").Expect(http.StatusCreated)
			owner.Do("POST", path, `  {"content":"charset","process_llm":false}  `,
				harness.Header{Name: "Content-Type", Value: "application/json; charset=utf-8"}).Expect(http.StatusCreated)
			// 32 000 characters of two bytes each: the limit counts characters.
			long := strings.Repeat("ж", 32000)
			m := e2ePost(t, owner, sid, long)
			if m["content"] != long {
				t.Fatalf("content of 32000 characters came back with %d bytes", len(m["content"].(string)))
			}
			emoji := "👍🏽 ünïcödé \t tab \n newline \u202e rtl"
			if got := e2ePost(t, owner, sid, emoji); got["content"] != emoji {
				t.Fatalf("content %q came back as %q", emoji, got["content"])
			}
			listed := e2eList(t, owner, path)["messages"].([]any)
			if len(listed) != 4 || listed[2].(map[string]any)["content"] != long || listed[3].(map[string]any)["content"] != emoji {
				t.Fatalf("stored messages differ from what was posted (%d listed)", len(listed))
			}
		})

		t.Run("process_llm true", func(t *testing.T) {
			owner := srv.NewUser(t)
			sid := e2eNewSession(t, owner, "llm")
			e2eProcessLLM(t, owner, sid, map[string]any{"content": "reply please", "process_llm": true})
			// process_llm defaults to true.
			e2eProcessLLM(t, owner, e2eNewSession(t, owner, "llm by default"), map[string]any{"content": "reply please"})
		})

		t.Run("stats count what was posted", func(t *testing.T) {
			owner := srv.NewUser(t)
			local := e2eNewSession(t, owner, "local")
			remote := e2eCreateSession(t, owner, map[string]any{"llm_provider": "OPENROUTER", "llm_model": "openai/gpt-4o"})["id"].(string)
			for _, c := range []string{"one", "two", "three"} {
				e2ePost(t, owner, local, c)
			}
			e2ePost(t, owner, local, "be brief", map[string]any{"role": "system"})
			e2ePost(t, owner, remote, "four")
			e2ePost(t, owner, remote, "five")
			owner.Do("PUT", "/api/v1/chat/sessions/"+remote, map[string]any{"is_active": false}).Expect(http.StatusOK)

			st := e2eList(t, owner, "/api/v1/chat/stats")
			check := map[string]any{
				"total_sessions": float64(2), "active_sessions": float64(1), "total_messages": float64(6),
				"messages_by_role": map[string]any{"user": float64(5), "assistant": float64(0), "system": float64(1)},
				"total_tokens":     float64(0), "avg_response_time_ms": float64(0),
			}
			for k, v := range check {
				if !reflect.DeepEqual(st[k], v) {
					t.Fatalf("stats %s = %v, want %v (all: %v)", k, st[k], v, st)
				}
			}
			byModel := map[string]float64{}
			for _, m := range st["by_model"].([]any) {
				m := m.(map[string]any)
				byModel[m["llm_provider"].(string)+"/"+m["llm_model"].(string)] += m["messages"].(float64)
			}
			if want := map[string]float64{"LOCAL/llama3.2": 4, "OPENROUTER/openai/gpt-4o": 2}; !reflect.DeepEqual(byModel, want) {
				t.Fatalf("by_model = %v, want %v", byModel, want)
			}
			mine := e2eList(t, owner, "/api/v1/chat/stats?scope=mine")
			delete(mine, "active_connections")
			delete(st, "active_connections")
			if !reflect.DeepEqual(mine, st) {
				t.Fatalf("scope=mine\n got %v\nwant %v", mine, st)
			}
			// Someone else's stats do not include them.
			other := e2eList(t, srv.NewUser(t), "/api/v1/chat/stats")
			if other["total_sessions"] != float64(0) || other["total_messages"] != float64(0) {
				t.Fatalf("a new user's stats = %v", other)
			}
		})
	})
}

// e2eProcessLLM posts a message asking for a reply. Without generation in
// the build the answer is 501 and nothing is stored; with it, 201 with the
// stored user message and a reply that is pending or streaming. It reports
// whether a reply was started.
func e2eProcessLLM(t testing.TB, c *harness.Client, sessionID string, body map[string]any) bool {
	t.Helper()
	path := "/api/v1/chat/sessions/" + sessionID + "/messages"
	before := e2eList(t, c, path)["total_count"].(float64)
	r := c.Do("POST", path, body)
	switch r.Status {
	case http.StatusNotImplemented:
		r.Problem(http.StatusNotImplemented)
		if after := e2eList(t, c, path)["total_count"].(float64); after != before {
			t.Fatalf("a post answered 501 stored %v messages", after-before)
		}
		if s := e2eList(t, c, "/api/v1/chat/sessions/"+sessionID); before == 0 && (s["message_count"] != float64(0) || s["last_message_at"] != nil) {
			t.Fatalf("a post answered 501 changed the session: %v", s)
		}
		return false
	case http.StatusCreated:
		t.Logf("generation is available in this build: checking the 201 answer instead of 501")
		res := r.Map()
		user, _ := res["user_message"].(map[string]any)
		reply, _ := res["assistant_message"].(map[string]any)
		if user == nil || reply == nil {
			t.Fatalf("201 without both messages: %v", res)
		}
		if user["content"] != body["content"] || user["role"] != "user" || reply["role"] != "assistant" ||
			reply["parent_id"] != user["id"] || (reply["status"] != "pending" && reply["status"] != "streaming") {
			t.Fatalf("201 answered user %v and reply %v", user, reply)
		}
		if after := e2eList(t, c, path)["total_count"].(float64); after != before+2 {
			t.Fatalf("a post with a reply stored %v messages, want 2", after-before)
		}
		return true
	}
	t.Fatalf("POST %s with process_llm: status %d, want 501 (no generation) or 201; body %.400s", path, r.Status, r.Body)
	return false
}
