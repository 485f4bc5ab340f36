package e2e

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/chatd/chatd/test/harness"
)

// e2eStrangerBodies are plausible bodies for the routes that take one: what
// a real client would send, so that only access decides the answer. A route
// not listed here gets an empty object.
var e2eStrangerBodies = map[string]func(stranger string) any{
	"PUT /api/v1/chat/sessions/:session_id": func(string) any {
		return map[string]any{"title": "taken over", "is_active": false}
	},
	"POST /api/v1/chat/sessions/:session_id/messages": func(string) any {
		return map[string]any{"content": "hello from a stranger", "process_llm": false}
	},
	"POST /api/v1/chat/sessions/:session_id/participants": func(stranger string) any {
		return map[string]any{"user_id": stranger, "role": "member"}
	},
	"PUT /api/v1/chat/messages/:message_id": func(string) any {
		return map[string]any{"content": "rewritten by a stranger", "message_metadata": map[string]any{"x": 1}}
	},
	"POST /api/v1/chat/sessions/:session_id/process-llm": func(string) any {
		return map[string]any{"prompt": "hello from a stranger"}
	},
}

// e2eComparable is a problem body without what differs per request.
func e2eComparable(t testing.TB, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("decode %.300s: %v", body, err)
	}
	delete(m, "instance")
	delete(m, "request_id")
	return m
}

func TestAccess(t *testing.T) {
	harness.ForEachDialect(t, func(t *testing.T, d harness.Dialect) {
		srv := harness.Start(t, harness.DefaultConfig(t, d))

		t.Run("a stranger gets the answer of a missing id on every route", func(t *testing.T) {
			owner, stranger := srv.NewUser(t), srv.NewUser(t)
			sid := e2eNewSession(t, owner, "private")
			msg := e2ePost(t, owner, sid, "secret")
			mid := msg["id"].(string)
			snapshot := func() string {
				var b strings.Builder
				for _, p := range []string{"/api/v1/chat/sessions", "/api/v1/chat/sessions/" + sid,
					"/api/v1/chat/sessions/" + sid + "/messages", "/api/v1/chat/sessions/" + sid + "/participants"} {
					b.Write(owner.Do("GET", p, nil).Expect(http.StatusOK).Body)
				}
				return b.String()
			}
			before := snapshot()

			real := map[string]string{":session_id": sid, ":message_id": mid, ":user_id": owner.UserID}
			walked := 0
			for _, r := range srv.Routes() {
				var params []string
				for _, seg := range strings.Split(r.Path, "/") {
					if strings.HasPrefix(seg, ":") && strings.HasSuffix(seg, "_id") {
						params = append(params, seg)
					}
				}
				if len(params) == 0 {
					continue // no id in the path: nothing to hide
				}
				key := r.Method + " " + r.Path
				t.Run(key, func(t *testing.T) {
					mine, missing := r.Path, r.Path
					for _, p := range params {
						id, known := real[p]
						if !known {
							t.Fatalf("%s has the id parameter %s this test does not know: teach it which real id to use", key, p)
						}
						mine = strings.Replace(mine, p, id, 1)
						missing = strings.Replace(missing, p, e2eRandomID(), 1)
					}
					var body any
					if mk, ok := e2eStrangerBodies[key]; ok {
						body = mk(stranger.UserID)
					} else if r.Method == "POST" || r.Method == "PUT" || r.Method == "PATCH" {
						body = map[string]any{}
					}
					send := func(path string) (int, http.Header, []byte) {
						if strings.HasSuffix(r.Path, "/websocket") {
							// A real handshake: the refusal must come before any upgrade.
							return e2eRaw(t, srv, stranger.Token, r.Method, path, nil, map[string]string{
								"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
								"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
							})
						}
						res := e2eAs(t, srv, stranger).Do(r.Method, path, body)
						return res.Status, res.Header, res.Body
					}
					st, h, got := send(mine)
					e2eRawProblem(t, key+" on the owner's ids", st, h, got, http.StatusNotFound)
					st, h, want := send(missing)
					e2eRawProblem(t, key+" on missing ids", st, h, want, http.StatusNotFound)
					if g, w := e2eComparable(t, got), e2eComparable(t, want); !reflect.DeepEqual(g, w) {
						t.Fatalf("the answer tells a hidden id from a missing one\nhidden:  %v\nmissing: %v", g, w)
					}
				})
				walked++
			}
			if walked < 7 {
				t.Fatalf("walked only %d routes with ids; Routes() = %v", walked, srv.Routes())
			}
			if after := snapshot(); after != before {
				t.Fatalf("the stranger changed the owner's data\nbefore %s\nafter  %s", before, after)
			}
		})

		t.Run("roles", func(t *testing.T) {
			owner, member, viewer := srv.NewUser(t), srv.NewUser(t), srv.NewUser(t)
			sid := e2eNewSession(t, owner, "team")
			spath := "/api/v1/chat/sessions/" + sid
			for _, p := range []struct {
				c    *harness.Client
				role string
			}{{member, "member"}, {viewer, "viewer"}} {
				owner.Do("POST", spath+"/participants", map[string]any{"user_id": p.c.UserID, "role": p.role}).Expect(http.StatusCreated)
			}
			first := e2ePost(t, owner, sid, "from the owner")
			count := func() float64 {
				t.Helper()
				return e2eList(t, owner, spath+"/messages")["total_count"].(float64)
			}

			// The viewer reads, and nothing more.
			e2eList(t, viewer, spath)
			e2eList(t, viewer, spath+"/messages")
			e2eList(t, viewer, spath+"/participants")
			viewer.Do("POST", spath+"/messages", map[string]any{"content": "may I?", "process_llm": false}).Problem(http.StatusForbidden)
			viewer.Do("PUT", spath, map[string]any{"title": "mine now"}).Problem(http.StatusForbidden)
			viewer.Do("DELETE", spath, nil).Problem(http.StatusForbidden)
			viewer.Do("POST", spath+"/participants", map[string]any{"email": viewer.Email, "role": "member"}).Problem(http.StatusForbidden)
			viewer.Do("PUT", "/api/v1/chat/messages/"+first["id"].(string), map[string]any{"content": "changed"}).Problem(http.StatusForbidden)
			if n := count(); n != 1 {
				t.Fatalf("the viewer stored a message: %v", n)
			}

			// The member posts but does not manage.
			posted := e2ePost(t, member, sid, "from a member")
			if posted["user_id"] != member.UserID || posted["parent_id"] != first["id"] {
				t.Fatalf("member's message = %v", posted)
			}
			member.Do("PUT", spath, map[string]any{"title": "mine now"}).Problem(http.StatusForbidden)
			member.Do("DELETE", spath, nil).Problem(http.StatusForbidden)
			member.Do("POST", spath+"/participants", map[string]any{"user_id": srv.NewUser(t).UserID, "role": "member"}).Problem(http.StatusForbidden)
			member.Do("DELETE", spath+"/participants/"+viewer.UserID, nil).Problem(http.StatusForbidden)
			member.Do("DELETE", spath+"/participants/"+owner.UserID, nil).Problem(http.StatusForbidden)
			s := e2eList(t, owner, spath)
			if s["title"] != "team" || s["is_active"] != true || s["message_count"] != float64(2) {
				t.Fatalf("refused changes changed the session: %v", s)
			}
			if n := len(e2eList(t, owner, spath+"/participants")["participants"].([]any)); n != 3 {
				t.Fatalf("participants = %d, want 3", n)
			}

			// Once removed, the member sees what a stranger sees.
			owner.Do("DELETE", spath+"/participants/"+member.UserID, nil).Expect(http.StatusNoContent)
			goneRes := member.Do("GET", spath, nil)
			goneRes.Problem(http.StatusNotFound)
			missingRes := member.Do("GET", "/api/v1/chat/sessions/"+e2eRandomID(), nil)
			missingRes.Problem(http.StatusNotFound)
			gone, missing := e2eComparable(t, goneRes.Body), e2eComparable(t, missingRes.Body)
			if !reflect.DeepEqual(gone, missing) {
				t.Fatalf("a removed member tells the session from a missing one\nremoved: %v\nmissing: %v", gone, missing)
			}
			member.Do("GET", spath+"/messages", nil).Problem(http.StatusNotFound)
			member.Do("GET", spath+"/participants", nil).Problem(http.StatusNotFound)
			member.Do("POST", spath+"/messages", map[string]any{"content": "still here?", "process_llm": false}).Problem(http.StatusNotFound)
			member.Do("PUT", "/api/v1/chat/messages/"+posted["id"].(string), map[string]any{"content": "edit"}).Problem(http.StatusNotFound)
			e2ePage(t, e2eList(t, member, "/api/v1/chat/sessions"), "sessions", 1, 20, 0, false)
			if n := count(); n != 2 {
				t.Fatalf("messages = %v, want 2", n)
			}
		})

		t.Run("process_llm true: 501 and nothing stored without generation", func(t *testing.T) {
			owner := srv.NewUser(t)
			sid := e2eNewSession(t, owner, "llm")
			e2eProcessLLM(t, owner, sid, map[string]any{"content": "answer me", "process_llm": true})
		})

		t.Run("deployment-wide stats are for admins", func(t *testing.T) {
			user := srv.NewUser(t)
			if me := e2eMe(t, user); me["role"] != "user" {
				t.Fatalf("a registered user has role %v", me["role"])
			}
			user.Do("GET", "/api/v1/chat/stats?scope=all", nil).Problem(http.StatusForbidden)
			e2eList(t, user, "/api/v1/chat/stats?scope=mine")
			e2eList(t, user, "/api/v1/chat/stats")
		})
	})
}
