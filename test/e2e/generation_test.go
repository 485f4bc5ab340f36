package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/llmsim"
	"github.com/chatd/chatd/test/harness"
)

// End-to-end tests of model replies: the real server on a real socket and
// database, llmsim as the only fake (a real HTTP server speaking the real
// SSE wire). Helpers of generation*_test.go carry a gen prefix.

// genFinal are the statuses a reply ends in.
var genFinal = map[string]bool{"completed": true, "failed": true, "cancelled": true, "interrupted": true}

var genSeq atomic.Int64

// genModel is a model name no other test uses, followed by llmsim
// directives: "sim-17+tokens=5+ttft=20ms". The simulator answers any name,
// so each test finds its own requests by this prefix.
func genModel(directives ...string) string {
	name := fmt.Sprintf("sim-%d", genSeq.Add(1))
	if len(directives) == 0 {
		return name
	}
	return name + "+" + strings.Join(directives, "+")
}

// genBase is the part of a model name before its directives.
func genBase(model string) string {
	base, _, _ := strings.Cut(model, "+")
	return base
}

// genSession creates a session and returns its id. body holds at least
// llm_model; llm_provider defaults to LOCAL and title to "gen".
func genSession(t testing.TB, c *harness.Client, body map[string]any) string {
	t.Helper()
	b := map[string]any{"llm_provider": "LOCAL", "title": "gen"}
	for k, v := range body {
		if v == nil {
			delete(b, k)
			continue
		}
		b[k] = v
	}
	return c.Do("POST", "/api/v1/chat/sessions", b).Expect(http.StatusCreated).Map()["id"].(string)
}

// genSend posts content asking for a reply (extra adds body fields) and
// checks the 201: the stored user message and a pending placeholder.
func genSend(t testing.TB, c *harness.Client, sid, content string, extra map[string]any, headers ...harness.Header) (user, reply map[string]any) {
	t.Helper()
	body := map[string]any{"content": content}
	for k, v := range extra {
		body[k] = v
	}
	res := c.Do("POST", "/api/v1/chat/sessions/"+sid+"/messages", body, headers...).Expect(http.StatusCreated).Map()
	user, _ = res["user_message"].(map[string]any)
	reply, _ = res["assistant_message"].(map[string]any)
	if user == nil || reply == nil {
		t.Fatalf("201 without both messages: %v", res)
	}
	if user["role"] != "user" || user["content"] != content || user["status"] != "completed" || user["session_id"] != sid {
		t.Fatalf("user message = %v", user)
	}
	if reply["role"] != "assistant" || reply["parent_id"] != user["id"] || reply["session_id"] != sid ||
		(reply["status"] != "pending" && reply["status"] != "streaming") || reply["error_message"] != nil {
		t.Fatalf("placeholder = %v (user message %v)", reply, user["id"])
	}
	return user, reply
}

// genMessages lists a session's messages, oldest first.
func genMessages(t testing.TB, c *harness.Client, sid string) []map[string]any {
	t.Helper()
	body := c.Do("GET", "/api/v1/chat/sessions/"+sid+"/messages?page_size=100", nil).Expect(http.StatusOK).Map()
	items, _ := body["messages"].([]any)
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		out = append(out, withoutSiblings(t, it.(map[string]any)))
	}
	return out
}

// withoutSiblings checks that a listed message names itself among its
// siblings and returns it as other answers show it, without sibling_ids.
func withoutSiblings(t testing.TB, m map[string]any) map[string]any {
	t.Helper()
	sibs, _ := m["sibling_ids"].([]any)
	if !slices.Contains(sibs, m["id"]) {
		t.Fatalf("listed message %v: sibling_ids %v do not hold itself", m["id"], m["sibling_ids"])
	}
	out := maps.Clone(m)
	delete(out, "sibling_ids")
	return out
}

// genMessage finds one message in its session's list (nil when absent).
func genMessage(t testing.TB, c *harness.Client, sid, id string) map[string]any {
	t.Helper()
	for _, m := range genMessages(t, c, sid) {
		if m["id"] == id {
			return m
		}
	}
	return nil
}

// genAwait polls the stored reply until its status is final.
func genAwait(t testing.TB, c *harness.Client, sid, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		m := genMessage(t, c, sid, id)
		if m == nil {
			t.Fatalf("reply %s is not stored", id)
		}
		if genFinal[m["status"].(string)] {
			if m["is_streaming"] != false {
				t.Fatalf("reply ended %s but is_streaming = %v", m["status"], m["is_streaming"])
			}
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("reply %s still %s after 30s: %v", id, m["status"], m)
		}
		time.Sleep(40 * time.Millisecond)
	}
}

// genReply posts and waits for the reply's end; it returns both messages as stored.
func genReply(t testing.TB, c *harness.Client, sid, content string, extra map[string]any) (user, reply map[string]any) {
	t.Helper()
	user, placeholder := genSend(t, c, sid, content, extra)
	return user, genAwait(t, c, sid, placeholder["id"].(string))
}

// genGetSession reads a session.
func genGetSession(t testing.TB, c *harness.Client, sid string) map[string]any {
	t.Helper()
	return c.Do("GET", "/api/v1/chat/sessions/"+sid, nil).Expect(http.StatusOK).Map()
}

// genTokens is the text of the first k of the n tokens llmsim answers to msg.
func genTokens(msg string, n, k int) string {
	return strings.Join(llmsim.ReplyTokens(msg, n)[:k], "")
}

// genNum reads a JSON number as an int, failing on anything else.
func genNum(t testing.TB, what string, v any) int {
	t.Helper()
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) {
		t.Fatalf("%s = %#v, want an integer", what, v)
	}
	return int(f)
}

// genCheckCompleted checks a reply the upstream finished cleanly: its text,
// usage, timings and metadata.
func genCheckCompleted(t testing.TB, reply map[string]any, want string, req llmsim.Request, completion int) {
	t.Helper()
	if reply["status"] != "completed" || reply["is_streaming"] != false || reply["error_message"] != nil {
		t.Fatalf("reply = %v, want completed", reply)
	}
	if reply["content"] != want {
		t.Fatalf("reply content\n got %q\nwant %q", reply["content"], want)
	}
	prompt := llmsim.PromptTokens(req.Messages)
	meta, _ := reply["message_metadata"].(map[string]any)
	if meta == nil {
		t.Fatalf("message_metadata = %#v", reply["message_metadata"])
	}
	if meta["finish_reason"] != "stop" || genNum(t, "prompt_tokens", meta["prompt_tokens"]) != prompt ||
		genNum(t, "completion_tokens", meta["completion_tokens"]) != completion || meta["usage_estimated"] != false {
		t.Fatalf("metadata = %v, want finish_reason stop, prompt_tokens %d, completion_tokens %d, usage not estimated",
			meta, prompt, completion)
	}
	if ttft := genNum(t, "time_to_first_token_ms", meta["time_to_first_token_ms"]); ttft < 0 {
		t.Fatalf("time_to_first_token_ms = %d", ttft)
	}
	if got := genNum(t, "tokens_used", reply["tokens_used"]); got != prompt+completion || got <= 0 {
		t.Fatalf("tokens_used = %d, want prompt %d + completion %d", got, prompt, completion)
	}
	if ms := genNum(t, "response_time_ms", reply["response_time_ms"]); ms < 0 {
		t.Fatalf("response_time_ms = %d", ms)
	}
}

// genOnly expects exactly n requests and returns them.
func genOnly(t testing.TB, reqs []llmsim.Request, n int, what string) []llmsim.Request {
	t.Helper()
	if len(reqs) != n {
		models := make([]string, 0, len(reqs))
		for _, r := range reqs {
			models = append(models, r.Model)
		}
		t.Fatalf("%s: %d upstream requests %v, want %d", what, len(reqs), models, n)
	}
	return reqs
}

// genPrompt renders the messages of an upstream request as "role: content" lines.
func genPrompt(req llmsim.Request) []string {
	out := make([]string, 0, len(req.Messages))
	for _, m := range req.Messages {
		out = append(out, m.Role+": "+m.Content)
	}
	return out
}

func TestGeneration(t *testing.T) {
	t.Parallel()
	harness.ForEachDialect(t, func(t *testing.T, d harness.Dialect) {
		t.Parallel()
		cfg := harness.DefaultConfig(t, d)
		cfg.MaxTokensCeiling = 40
		local, router := harness.WithUpstreams(t, &cfg,
			llmsim.Options{TimeToFirstToken: 5 * time.Millisecond}, llmsim.Options{TimeToFirstToken: 5 * time.Millisecond})
		const localKey = "local-key-0123456789"
		cfg.LocalAPIKey = localKey
		srv := harness.Start(t, cfg)

		t.Run("replies", func(t *testing.T) {
			t.Run("happy path", func(t *testing.T) {
				t.Parallel()
				c := srv.NewUser(t)
				model := genModel("tokens=12", "ttft=20ms")
				sid := genSession(t, c, map[string]any{"llm_model": model})
				content := "Hello there, how are you today, my friend?"
				user, placeholder := genSend(t, c, sid, content, nil)
				if user["parent_id"] != nil || placeholder["llm_provider"] != "LOCAL" || placeholder["llm_model"] != model ||
					placeholder["user_id"] != c.UserID || placeholder["tokens_used"] != nil {
					t.Fatalf("201 answered user %v and reply %v", user, placeholder)
				}
				reply := genAwait(t, c, sid, placeholder["id"].(string))
				req := genOnly(t, harness.Completions(local, genBase(model), true), 1, "one reply")[0]
				genCheckCompleted(t, reply, llmsim.ExpectedReply(content, 12), req, 12)
				if reply["parent_id"] != user["id"] || reply["llm_model"] != model || reply["llm_provider"] != "LOCAL" ||
					reply["message_metadata"].(map[string]any)["model"] != model {
					t.Fatalf("completed reply = %v", reply)
				}
				// ttft=20ms in the simulator: measured from the start, both are at least that.
				if ms := genNum(t, "ttft", reply["message_metadata"].(map[string]any)["time_to_first_token_ms"]); ms < 20 {
					t.Fatalf("time_to_first_token_ms = %d with a simulated 20ms", ms)
				}
				if ms := genNum(t, "response_time_ms", reply["response_time_ms"]); ms < 20 {
					t.Fatalf("response_time_ms = %d with a simulated first token at 20ms", ms)
				}
				s := genGetSession(t, c, sid)
				if s["message_count"] != float64(2) || s["last_message_at"] == nil {
					t.Fatalf("session after one reply: message_count %v, last_message_at %v", s["message_count"], s["last_message_at"])
				}

				// The next turn answers the reply; its reply answers it.
				user2, reply2 := genReply(t, c, sid, "And again?", nil)
				if user2["parent_id"] != reply["id"] || reply2["parent_id"] != user2["id"] || reply2["status"] != "completed" {
					t.Fatalf("second turn: user %v, reply %v (first reply %v)", user2, reply2, reply["id"])
				}
				ids := []string{}
				for _, m := range genMessages(t, c, sid) {
					ids = append(ids, m["id"].(string))
				}
				if want := []string{user["id"].(string), reply["id"].(string), user2["id"].(string), reply2["id"].(string)}; !reflect.DeepEqual(ids, want) {
					t.Fatalf("messages = %v, want %v", ids, want)
				}
				if s := genGetSession(t, c, sid); s["message_count"] != float64(4) {
					t.Fatalf("message_count = %v, want 4", s["message_count"])
				}
			})

			t.Run("SSE stream and wait=true", func(t *testing.T) {
				t.Parallel()
				c := srv.NewUser(t)
				model := genModel("tokens=15")
				sid := genSession(t, c, map[string]any{"llm_model": model})
				content := "Stream this answer to me, please"
				s := c.PostSSE("/api/v1/chat/sessions/"+sid+"/messages", map[string]any{"content": content})
				if !s.IsStream() {
					t.Fatalf("SSE post: status %d, content type %q, body %.400s", s.Status, s.Header.Get("Content-Type"), s.Body)
				}
				if s.Header.Get("X-Accel-Buffering") != "no" || s.Header.Get("Cache-Control") != "no-store" {
					t.Fatalf("X-Accel-Buffering = %q, Cache-Control %q; want no, no-store",
						s.Header.Get("X-Accel-Buffering"), s.Header.Get("Cache-Control"))
				}
				events := s.All()
				if len(events) != 2+15+1 {
					t.Fatalf("%d events, want 2 created + 15 deltas + 1 completed: %v", len(events), genEventTypes(events))
				}
				var seq int64
				var userID, replyID string
				var text strings.Builder
				for i, e := range events {
					f := e.Frame(t)
					if e.Event != f.Type || e.ID != strconv.FormatInt(f.Seq, 10) || f.SessionID != sid {
						t.Fatalf("event %d: event %q id %q, frame type %q seq %d session %q", i, e.Event, e.ID, f.Type, f.Seq, f.SessionID)
					}
					if i > 0 && f.Seq != seq+1 {
						t.Fatalf("event %d (%s): seq %d after %d", i, f.Type, f.Seq, seq)
					}
					seq = f.Seq
					data := genJSON(t, f.Data)
					switch {
					case i == 0:
						if f.Type != "message.created" || data["role"] != "user" || data["content"] != content {
							t.Fatalf("first event = %s %v", f.Type, data)
						}
						userID = data["id"].(string)
					case i == 1:
						if f.Type != "message.created" || data["role"] != "assistant" || data["parent_id"] != userID ||
							(data["status"] != "pending" && data["status"] != "streaming") {
							t.Fatalf("second event = %s %v", f.Type, data)
						}
						replyID = data["id"].(string)
					case i < len(events)-1:
						if f.Type != "message.delta" || data["message_id"] != replyID || genNum(t, "index", data["index"]) != i-2 {
							t.Fatalf("event %d = %s %v, want delta %d of %s", i, f.Type, data, i-2, replyID)
						}
						text.WriteString(data["delta"].(string))
					default:
						if f.Type != "message.completed" || data["id"] != replyID || data["status"] != "completed" ||
							data["content"] != text.String() {
							t.Fatalf("last event = %s %v; deltas said %q", f.Type, data, text.String())
						}
					}
				}
				want := llmsim.ExpectedReply(content, 15)
				if text.String() != want {
					t.Fatalf("deltas\n got %q\nwant %q", text.String(), want)
				}
				if stored := genMessage(t, c, sid, replyID); stored["content"] != want || stored["status"] != "completed" {
					t.Fatalf("stored reply = %v", stored)
				}

				// ?wait=true for the same request in a twin session: 200 with the finished reply.
				twin := genSession(t, c, map[string]any{"llm_model": model})
				res := c.Do("POST", "/api/v1/chat/sessions/"+twin+"/messages?wait=true", map[string]any{"content": content}).
					Expect(http.StatusOK).Map()
				waited, _ := res["assistant_message"].(map[string]any)
				waitedUser, _ := res["user_message"].(map[string]any)
				if waited == nil || waitedUser == nil || waited["status"] != "completed" || waited["content"] != text.String() ||
					waited["parent_id"] != waitedUser["id"] || waitedUser["content"] != content {
					t.Fatalf("wait=true answered %v", res)
				}
				if stored := genMessage(t, c, twin, waited["id"].(string)); !reflect.DeepEqual(stored, waited) {
					t.Fatalf("wait=true answered\n%v\nbut stored\n%v", waited, stored)
				}
			})

			t.Run("reasoning is kept apart from the answer", func(t *testing.T) {
				t.Parallel()
				c := srv.NewUser(t)
				for _, field := range []string{"reasoning", "reasoning_content"} {
					model := genModel("tokens=5", "reasoning_field="+field)
					sid := genSession(t, c, map[string]any{"llm_model": model})
					_, reply := genReply(t, c, sid, "think first", nil)
					req := genOnly(t, harness.Completions(local, genBase(model), true), 1, field)[0]
					// The simulator counts reasoning chunks as completion tokens.
					genCheckCompleted(t, reply, llmsim.ExpectedReply("think first", 5), req, 5+len(llmsim.ReasoningChunks()))
					if got := reply["message_metadata"].(map[string]any)["reasoning"]; got != llmsim.ExpectedReasoning() {
						t.Fatalf("%s: metadata reasoning = %q, want %q", field, got, llmsim.ExpectedReasoning())
					}
				}
			})

			t.Run("SSE without a reply", func(t *testing.T) {
				t.Parallel()
				c := srv.NewUser(t)
				sid := genSession(t, c, map[string]any{"llm_model": genModel()})
				s := c.PostSSE("/api/v1/chat/sessions/"+sid+"/messages", map[string]any{"content": "no reply", "process_llm": false})
				events := s.All()
				if !s.IsStream() || len(events) != 1 || events[0].Event != "message.created" {
					t.Fatalf("SSE post without a reply: status %d, events %v", s.Status, genEventTypes(events))
				}
				if data := genJSON(t, events[0].Frame(t).Data); data["content"] != "no reply" || data["role"] != "user" {
					t.Fatalf("created = %v", data)
				}
			})

			t.Run("what reaches the provider", func(t *testing.T) {
				t.Parallel()
				c := srv.NewUser(t)
				model := genModel("tokens=4")
				sid := genSession(t, c, map[string]any{"llm_model": model, "settings": map[string]any{
					"system_prompt": "You are terse.", "temperature": 0.3, "top_p": 0.9, "max_tokens": 1000,
					"stop": []string{"END", "STOP"},
				}})
				post := func(content string, extra map[string]any) {
					t.Helper()
					body := map[string]any{"content": content, "process_llm": false}
					for k, v := range extra {
						body[k] = v
					}
					c.Do("POST", "/api/v1/chat/sessions/"+sid+"/messages", body).Expect(http.StatusCreated)
				}
				post("one", nil)
				post("two", nil)
				post("a note", map[string]any{"role": "system"})
				_, reply := genReply(t, c, sid, "four", nil)
				req := genOnly(t, harness.Completions(local, genBase(model), true), 1, "first reply")[0]
				want := []string{"system: You are terse.", "user: one", "user: two", "system: a note", "user: four"}
				if got := genPrompt(req); !reflect.DeepEqual(got, want) {
					t.Fatalf("prompt\n got %q\nwant %q", got, want)
				}
				if req.Temperature == nil || *req.Temperature != 0.3 || req.TopP == nil || *req.TopP != 0.9 ||
					!reflect.DeepEqual(req.Stop, []string{"END", "STOP"}) || !req.Stream || !req.IncludeUsage() || req.Model != model {
					t.Fatalf("request settings: model %q temperature %v top_p %v stop %q stream %v usage %v",
						req.Model, req.Temperature, req.TopP, req.Stop, req.Stream, req.IncludeUsage())
				}
				// The session asks for 1000 tokens; the server's ceiling (40) wins.
				if req.MaxTokens != 40 {
					t.Fatalf("max_tokens = %d, want the ceiling 40", req.MaxTokens)
				}
				// The next reply sees the whole history, the first reply included.
				genReply(t, c, sid, "five", nil)
				req = genOnly(t, harness.Completions(local, genBase(model), true), 2, "second reply")[1]
				want = append(want, "assistant: "+reply["content"].(string), "user: five")
				if got := genPrompt(req); !reflect.DeepEqual(got, want) {
					t.Fatalf("second prompt\n got %q\nwant %q", got, want)
				}

				// max_context_messages keeps the newest turns, the new one included.
				short := genModel("tokens=3")
				sid2 := genSession(t, c, map[string]any{"llm_model": short, "settings": map[string]any{
					"system_prompt": "Be brief.", "max_context_messages": 3,
				}})
				for _, m := range []string{"a", "b", "c", "d"} {
					c.Do("POST", "/api/v1/chat/sessions/"+sid2+"/messages", map[string]any{"content": m, "process_llm": false}).
						Expect(http.StatusCreated)
				}
				genReply(t, c, sid2, "e", nil)
				req = genOnly(t, harness.Completions(local, genBase(short), true), 1, "windowed reply")[0]
				if got, want := genPrompt(req), []string{"system: Be brief.", "user: c", "user: d", "user: e"}; !reflect.DeepEqual(got, want) {
					t.Fatalf("windowed prompt\n got %q\nwant %q", got, want)
				}
				// No settings: no system prompt, no sampling fields, and the ceiling as max_tokens.
				if req.Temperature != nil || req.TopP != nil || req.Stop != nil || req.MaxTokens != 40 {
					t.Fatalf("request without settings: temperature %v top_p %v stop %q max_tokens %d",
						req.Temperature, req.TopP, req.Stop, req.MaxTokens)
				}

				// max_tokens under the ceiling is sent as set; the reply stops at its length.
				cut := genModel("tokens=20")
				sid3 := genSession(t, c, map[string]any{"llm_model": cut, "settings": map[string]any{"max_tokens": 5}})
				_, r3 := genReply(t, c, sid3, "Tell me everything", nil)
				req = genOnly(t, harness.Completions(local, genBase(cut), true), 1, "cut reply")[0]
				if req.MaxTokens != 5 || len(req.Messages) != 1 {
					t.Fatalf("max_tokens = %d, messages %q", req.MaxTokens, genPrompt(req))
				}
				meta := r3["message_metadata"].(map[string]any)
				if r3["status"] != "completed" || r3["content"] != genTokens("Tell me everything", 20, 5) || meta["finish_reason"] != "length" {
					t.Fatalf("reply cut by max_tokens = %v", r3)
				}
			})

			t.Run("OPENROUTER carries the key and the fallbacks", func(t *testing.T) {
				t.Parallel()
				c := srv.NewUser(t)
				model := "vendor/" + genModel("tokens=6")
				sid := genSession(t, c, map[string]any{"llm_provider": "OPENROUTER", "llm_model": model,
					"settings": map[string]any{"fallback_models": []string{"vendor/b", "other/c"}}})
				_, reply := genReply(t, c, sid, "Hi from OpenRouter", nil)
				req := genOnly(t, harness.Completions(router, genBase(model), true), 1, "OpenRouter reply")[0]
				genCheckCompleted(t, reply, llmsim.ExpectedReply("Hi from OpenRouter", 6), req, 6)
				if reply["llm_provider"] != "OPENROUTER" || reply["llm_model"] != model {
					t.Fatalf("reply = %v", reply)
				}
				if got := req.Header.Get("Authorization"); got != "Bearer "+harness.UpstreamKey {
					t.Fatalf("Authorization = %q, want the configured key", got)
				}
				if got := req.Header.Get("Accept"); got != "text/event-stream" {
					t.Fatalf("Accept = %q", got)
				}
				if want := []string{model, "vendor/b", "other/c"}; !reflect.DeepEqual(req.Models, want) || req.Model != model {
					t.Fatalf("model %q, models %q; want %q", req.Model, req.Models, want)
				}
				genOnly(t, harness.Completions(local, genBase(model), true), 0, "LOCAL requests of an OPENROUTER session")
			})

			t.Run("process-llm", func(t *testing.T) {
				t.Parallel()
				c := srv.NewUser(t)
				model := genModel("tokens=5")
				sid := genSession(t, c, map[string]any{"llm_model": model, "settings": map[string]any{"temperature": 0.2}})
				path := "/api/v1/chat/sessions/" + sid + "/process-llm"

				// With a prompt: stored as a user message, then the reply to it.
				res := c.Do("POST", path, map[string]any{"prompt": "Start here"}).Expect(http.StatusAccepted).Map()
				reply, _ := res["assistant_message"].(map[string]any)
				if reply == nil || reply["role"] != "assistant" || (reply["status"] != "pending" && reply["status"] != "streaming") {
					t.Fatalf("202 answered %v", res)
				}
				done := genAwait(t, c, sid, reply["id"].(string))
				msgs := genMessages(t, c, sid)
				if len(msgs) != 2 || msgs[0]["role"] != "user" || msgs[0]["content"] != "Start here" ||
					msgs[1]["id"] != reply["id"] || reply["parent_id"] != msgs[0]["id"] {
					t.Fatalf("after process-llm with a prompt: %v", msgs)
				}
				if done["status"] != "completed" || done["content"] != llmsim.ExpectedReply("Start here", 5) {
					t.Fatalf("reply = %v", done)
				}

				// Without a prompt: another reply to the history as it is.
				res = c.Do("POST", path, nil).Expect(http.StatusAccepted).Map()
				again := genAwait(t, c, sid, res["assistant_message"].(map[string]any)["id"].(string))
				if again["parent_id"] != done["id"] || again["status"] != "completed" {
					t.Fatalf("reply without a prompt = %v (previous %v)", again, done["id"])
				}
				reqs := genOnly(t, harness.Completions(local, genBase(model), true), 2, "two process-llm replies")
				if got, want := genPrompt(reqs[1]), []string{"user: Start here", "assistant: " + done["content"].(string)}; !reflect.DeepEqual(got, want) {
					t.Fatalf("prompt without a new turn\n got %q\nwant %q", got, want)
				}

				// Settings given to process-llm apply to that reply only.
				res = c.Do("POST", path, map[string]any{"prompt": "Override", "settings": map[string]any{
					"system_prompt": "Just this once.", "temperature": 1.5, "max_tokens": 2,
				}}).Expect(http.StatusAccepted).Map()
				genAwait(t, c, sid, res["assistant_message"].(map[string]any)["id"].(string))
				genReply(t, c, sid, "Back to normal", nil)
				reqs = genOnly(t, harness.Completions(local, genBase(model), true), 4, "four replies")
				over, after := reqs[2], reqs[3]
				if over.Temperature == nil || *over.Temperature != 1.5 || over.MaxTokens != 2 || over.Messages[0].Role != "system" ||
					over.Messages[0].Content != "Just this once." {
					t.Fatalf("overridden request: temperature %v max_tokens %d prompt %q", over.Temperature, over.MaxTokens, genPrompt(over))
				}
				if after.Temperature == nil || *after.Temperature != 0.2 || after.MaxTokens != 40 || after.Messages[0].Role == "system" {
					t.Fatalf("request after the override: temperature %v max_tokens %d prompt %q", after.Temperature, after.MaxTokens, genPrompt(after))
				}
				if s := genGetSession(t, c, sid); s["settings"].(map[string]any)["temperature"] != 0.2 {
					t.Fatalf("process-llm settings changed the session: %v", s["settings"])
				}
			})

			t.Run("idempotent post with a reply", func(t *testing.T) {
				t.Parallel()
				c := srv.NewUser(t)
				model := genModel("tokens=5", "ttft=100ms")
				sid := genSession(t, c, map[string]any{"llm_model": model})
				key := harness.Header{Name: "Idempotency-Key", Value: "gen-" + strconv.FormatInt(time.Now().UnixNano(), 36)}
				body := map[string]any{"content": "only once"}
				path := "/api/v1/chat/sessions/" + sid + "/messages"
				first := c.Do("POST", path, body, key).Expect(http.StatusCreated).Map()
				second := c.Do("POST", path, body, key).Expect(http.StatusCreated).Map()
				id := func(res map[string]any, k string) any { return res[k].(map[string]any)["id"] }
				if id(first, "user_message") != id(second, "user_message") || id(first, "assistant_message") != id(second, "assistant_message") {
					t.Fatalf("a replay created other messages\nfirst  %v\nsecond %v", first, second)
				}
				genAwait(t, c, sid, id(first, "assistant_message").(string))
				third := c.Do("POST", path, body, key).Expect(http.StatusCreated).Map()
				if id(third, "assistant_message") != id(first, "assistant_message") || third["assistant_message"].(map[string]any)["status"] != "completed" {
					t.Fatalf("a replay after the reply ended answered %v", third)
				}
				c.Do("POST", path, map[string]any{"content": "another body"}, key).Problem(http.StatusConflict)
				if n := len(genMessages(t, c, sid)); n != 2 {
					t.Fatalf("%d messages stored, want 2", n)
				}
				genOnly(t, harness.Completions(local, genBase(model), true), 1, "replayed posts")
			})

			t.Run("idempotent replay of a finished reply with wait=true or SSE", func(t *testing.T) {
				t.Parallel()
				c := srv.NewUser(t)
				model := genModel("tokens=4")
				sid := genSession(t, c, map[string]any{"llm_model": model})
				key := harness.Header{Name: "Idempotency-Key", Value: "gen-wait-" + genRandomID()}
				path := "/api/v1/chat/sessions/" + sid + "/messages"
				body := map[string]any{"content": "answer once"}
				first := c.Do("POST", path+"?wait=true", body, key).Expect(http.StatusOK).Map()
				reply := first["assistant_message"].(map[string]any)
				if reply["status"] != "completed" {
					t.Fatalf("wait=true answered %v", first)
				}
				// The retry finds the reply finished: it answers at once with it.
				status, raw := genTimedPost(t, srv, c, path+"?wait=true", body, key, 5*time.Second)
				if status != http.StatusOK {
					t.Fatalf("replayed wait=true: status %d, body %.300s", status, raw)
				}
				if again := genJSON(t, raw)["assistant_message"].(map[string]any); again["id"] != reply["id"] || again["content"] != reply["content"] {
					t.Fatalf("replayed wait=true answered %s", raw)
				}
				status, raw = genTimedPost(t, srv, c, path, body, key, 5*time.Second, harness.Header{Name: "Accept", Value: "text/event-stream"})
				if status != http.StatusOK || !strings.Contains(string(raw), "message.completed") {
					t.Fatalf("replayed SSE post: status %d, body %.600s", status, raw)
				}
				genOnly(t, harness.Completions(local, model, true), 1, "replayed posts")
			})

			t.Run("titles", func(t *testing.T) {
				t.Parallel()
				c := srv.NewUser(t)
				model := genModel("tokens=8")
				untitled := genSession(t, c, map[string]any{"llm_model": model, "title": nil})
				if s := genGetSession(t, c, untitled); s["title"] != "" {
					t.Fatalf("a session created without a title has title %q", s["title"])
				}
				genReply(t, c, untitled, "Plan a trip to Lisbon", nil)
				title := genAwaitTitle(t, c, untitled)
				if strings.Contains(title, "\n") || strings.HasSuffix(title, ".") || len([]rune(title)) > 200 {
					t.Fatalf("title %q", title)
				}
				namer := genOnly(t, harness.Completions(local, genBase(model), false), 1, "title requests")[0]
				if namer.Messages[0].Role != "system" || !strings.Contains(namer.Messages[len(namer.Messages)-1].Content, "Plan a trip to Lisbon") {
					t.Fatalf("title request prompt %q", genPrompt(namer))
				}
				// Later replies do not rename it.
				genReply(t, c, untitled, "And Porto?", nil)
				time.Sleep(300 * time.Millisecond)
				if s := genGetSession(t, c, untitled); s["title"] != title {
					t.Fatalf("title changed from %q to %q", title, s["title"])
				}

				kept := genModel("tokens=8")
				titled := genSession(t, c, map[string]any{"llm_model": kept, "title": "Mine"})
				genReply(t, c, titled, "Plan a trip to Lisbon", nil)
				time.Sleep(300 * time.Millisecond)
				if s := genGetSession(t, c, titled); s["title"] != "Mine" {
					t.Fatalf("a titled session became %q", s["title"])
				}
				genOnly(t, harness.Completions(local, genBase(kept), false), 0, "title requests of a titled session")
			})

			t.Run("stats", func(t *testing.T) {
				t.Parallel()
				c := srv.NewUser(t)
				model := genModel("tokens=7", "ttft=15ms")
				sid := genSession(t, c, map[string]any{"llm_model": model})
				sum := 0
				for _, q := range []string{"first question", "second question here", "third"} {
					_, r := genReply(t, c, sid, q, nil)
					sum += genNum(t, "tokens_used", r["tokens_used"])
				}
				st := c.Do("GET", "/api/v1/chat/stats", nil).Expect(http.StatusOK).Map()
				if genNum(t, "total_tokens", st["total_tokens"]) != sum || st["total_messages"] != float64(6) ||
					!reflect.DeepEqual(st["messages_by_role"], map[string]any{"user": float64(3), "assistant": float64(3), "system": float64(0)}) {
					t.Fatalf("stats = %v; tokens_used sum %d", st, sum)
				}
				if avg, _ := st["avg_response_time_ms"].(float64); avg < 15 {
					t.Fatalf("avg_response_time_ms = %v with a simulated first token at 15ms", st["avg_response_time_ms"])
				}
				var found map[string]any
				for _, m := range st["by_model"].([]any) {
					if m := m.(map[string]any); m["llm_model"] == model && m["llm_provider"] == "LOCAL" {
						found = m
					}
				}
				if found == nil || genNum(t, "tokens", found["tokens"]) != sum || found["avg_response_time_ms"].(float64) < 15 {
					t.Fatalf("by_model = %v; want %s with %d tokens and a response time", st["by_model"], model, sum)
				}
			})

			t.Run("models", func(t *testing.T) {
				t.Parallel()
				c := srv.NewUser(t)
				got := c.Do("GET", "/api/v1/chat/models?llm_provider=LOCAL", nil).Expect(http.StatusOK).Map()
				want := map[string]any{"models": []any{
					map[string]any{"id": "sim-small", "name": "sim-small", "context_length": nil},
					map[string]any{"id": "sim-large", "name": "sim-large", "context_length": nil},
				}}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("models = %v, want %v", got, want)
				}
				c.Do("GET", "/api/v1/chat/models", nil).Problem(http.StatusBadRequest)
				c.Do("GET", "/api/v1/chat/models?llm_provider=OLLAMA", nil).Problem(http.StatusBadRequest)
			})
		})

		// Both providers were used above (replies and titles): each key went
		// to its own provider only, in Authorization and nowhere else.
		genKeys := func(sim *llmsim.Server, name, mine, foreign string) {
			t.Helper()
			if len(sim.Requests()) == 0 {
				t.Fatalf("no request reached %s", name)
			}
			for _, r := range sim.Requests() {
				if got := r.Header.Get("Authorization"); got != "Bearer "+mine {
					t.Fatalf("a %s request for %q had Authorization %q", name, r.Model, got)
				}
				for h, values := range r.Header {
					for _, v := range values {
						if strings.Contains(v, foreign) || (h != "Authorization" && strings.Contains(v, mine)) {
							t.Fatalf("a %s request for %q carried a key in %s", name, r.Model, h)
						}
					}
				}
				if strings.Contains(string(r.Body), mine) || strings.Contains(string(r.Body), foreign) {
					t.Fatalf("a %s request body for %q carried a key", name, r.Model)
				}
			}
		}
		genKeys(local, "LOCAL", localKey, harness.UpstreamKey)
		genKeys(router, "OPENROUTER", harness.UpstreamKey, localKey)
	})
}

// TestGenerationMisconfigured covers providers that cannot work: OpenRouter
// without a key, a LOCAL server nobody listens on.
func TestGenerationMisconfigured(t *testing.T) {
	t.Parallel()
	cfg := harness.DefaultConfig(t, harness.SQLite)
	router := harness.StartUpstream(t, llmsim.Options{})
	cfg.OpenRouterBaseURL = router.URL
	cfg.OpenRouterAPIKey = ""
	cfg.LocalBaseURL = harness.ClosedUpstreamURL(t)
	srv := harness.Start(t, cfg)
	c := srv.NewUser(t)

	// OPENROUTER without a key: the reply fails with a sentence, nothing is sent.
	model := "vendor/" + genModel("tokens=3")
	sid := genSession(t, c, map[string]any{"llm_provider": "OPENROUTER", "llm_model": model})
	user, reply := genReply(t, c, sid, "anyone there?", nil)
	if reply["status"] != "failed" || reply["content"] != "" || !strings.Contains(genStr(reply["error_message"]), "OpenRouter is not configured") {
		t.Fatalf("reply without a key = %v", reply)
	}
	if m := genMessage(t, c, sid, user["id"].(string)); m == nil || m["status"] != "completed" {
		t.Fatalf("user message = %v", m)
	}
	if n := len(router.Requests()); n != 0 {
		t.Fatalf("%d requests reached OpenRouter without a key", n)
	}
	// Listing OpenRouter's models needs no key.
	models := c.Do("GET", "/api/v1/chat/models?llm_provider=OPENROUTER", nil).Expect(http.StatusOK).Map()
	if len(models["models"].([]any)) != 2 {
		t.Fatalf("OpenRouter models = %v", models)
	}

	// LOCAL unreachable: models answer 502, a reply fails naming the host only.
	p := c.Do("GET", "/api/v1/chat/models?llm_provider=LOCAL", nil).Problem(http.StatusBadGateway)
	if !strings.Contains(p.Detail, "could not reach") {
		t.Fatalf("models of an unreachable LOCAL server: %+v", p)
	}
	lsid := genSession(t, c, map[string]any{"llm_model": genModel()})
	_, reply = genReply(t, c, lsid, "hello?", nil)
	msg := genStr(reply["error_message"])
	if reply["status"] != "failed" || !strings.Contains(msg, "could not reach the LOCAL model server at 127.0.0.1:") ||
		strings.Contains(msg, "/v1") || strings.Contains(msg, "chat/completions") {
		t.Fatalf("reply from an unreachable server = %v", reply)
	}
}

// genAwaitTitle polls a session until it has a title.
func genAwaitTitle(t testing.TB, c *harness.Client, sid string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := genGetSession(t, c, sid)
		if title, _ := s["title"].(string); title != "" {
			return title
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s has no title 10s after its first reply", sid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// genRandomID is a random version 4 UUID: an id nobody has.
func genRandomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// genTimedPost posts outside the harness client with a deadline, for
// answers that might never come. A deadline passing is status 0.
func genTimedPost(t testing.TB, srv *harness.Server, c *harness.Client, path string, body any, key harness.Header,
	limit time.Duration, headers ...harness.Header,
) (int, []byte) {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set(key.Name, key.Value)
	for _, h := range headers {
		req.Header.Set(h.Name, h.Value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, []byte("no answer within " + limit.String())
		}
		t.Fatalf("POST %s: %v", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(resp.Body)
	if err != nil && ctx.Err() != nil {
		return 0, append(out, []byte("… no end within "+limit.String())...)
	}
	return resp.StatusCode, out
}

// genStr is a JSON string or "" (null, absent).
func genStr(v any) string {
	s, _ := v.(string)
	return s
}

// genJSON decodes an object.
func genJSON(t testing.TB, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("decode %.300s: %v", raw, err)
	}
	return m
}

// genEventTypes lists event names, for failure messages.
func genEventTypes(events []harness.SSEEvent) []string {
	out := make([]string, 0, len(events))
	for _, e := range events {
		out = append(out, e.Event)
	}
	return out
}
