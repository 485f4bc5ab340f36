package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/llmsim"
	"github.com/chatd/chatd/test/harness"
)

// End-to-end tests of the conversation tree (CONTRACT.md, "Conversation
// tree"): regenerate, switching branches, edit and resend, concurrent posts,
// deleting subtrees, and the branch=current|all lists. Helpers of this file
// carry a tree prefix.

// treeEnds records how each upstream request ended, so a test can tell that
// chatd closed the request of one reply (llmsim's counters are global, and
// the subtests run in parallel).
type treeEnds struct {
	mu   sync.Mutex
	ends []llmsim.Summary
}

func (e *treeEnds) record(s llmsim.Summary) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ends = append(e.ends, s)
}

// await returns how the request for model ended, waiting up to timeout.
func (e *treeEnds) await(t testing.TB, model string, timeout time.Duration) llmsim.Summary {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		e.mu.Lock()
		for _, s := range e.ends {
			if s.Model == model {
				e.mu.Unlock()
				return s
			}
		}
		e.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("the upstream request for %s had not ended %v later", model, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// treeSession creates a titled LOCAL session (titled, so that no naming
// request or session.updated follows the first reply).
func treeSession(t testing.TB, c *harness.Client, model string) string {
	t.Helper()
	return genSession(t, c, map[string]any{"llm_model": model, "title": "tree"})
}

// treeJoin adds u to the session with role.
func treeJoin(t testing.TB, owner *harness.Client, sid string, u *harness.Client, role string) {
	t.Helper()
	owner.Do("POST", "/api/v1/chat/sessions/"+sid+"/participants",
		map[string]any{"user_id": u.UserID, "role": role}).Expect(http.StatusCreated)
}

// treeList lists a session's messages on one branch ("" sends no branch
// parameter), all on one page, with their sibling_ids. Each names itself
// among its siblings, and the pagination agrees with the items.
func treeList(t testing.TB, c *harness.Client, sid, branch string) []map[string]any {
	t.Helper()
	path := "/api/v1/chat/sessions/" + sid + "/messages?page_size=100"
	if branch != "" {
		path += "&branch=" + branch
	}
	body := c.Do("GET", path, nil).Expect(http.StatusOK).Map()
	items, _ := body["messages"].([]any)
	if body["total_count"] != float64(len(items)) || body["has_more"] != false {
		t.Fatalf("%s: %d items with total_count %v, has_more %v", path, len(items), body["total_count"], body["has_more"])
	}
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		m := it.(map[string]any)
		withoutSiblings(t, m) // checks that sibling_ids hold the message itself
		out = append(out, m)
	}
	return out
}

// treeIDs are the ids of listed messages, in order.
func treeIDs(msgs []map[string]any) []string {
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, treeID(m))
	}
	return out
}

// treeID is a message's (or session's) id.
func treeID(m map[string]any) string {
	id, _ := m["id"].(string)
	return id
}

// treeIDsOf are the ids of messages, for expectations.
func treeIDsOf(msgs ...map[string]any) []string {
	return treeIDs(msgs)
}

// treeStrings reads a JSON array of strings.
func treeStrings(t testing.TB, what string, v any) []string {
	t.Helper()
	items, ok := v.([]any)
	if !ok {
		t.Fatalf("%s = %#v, want an array of strings", what, v)
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := it.(string)
		if !ok {
			t.Fatalf("%s = %#v, want an array of strings", what, v)
		}
		out = append(out, s)
	}
	return out
}

// treeExpectBranch checks a listed branch's ids in order.
func treeExpectBranch(t testing.TB, what string, msgs []map[string]any, want ...string) {
	t.Helper()
	if got := treeIDs(msgs); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s lists\n %v\nwant\n %v", what, got, want)
	}
}

// treeExpectSiblings checks the sibling_ids of the listed message id.
func treeExpectSiblings(t testing.TB, msgs []map[string]any, id string, want ...string) {
	t.Helper()
	for _, m := range msgs {
		if treeID(m) == id {
			if got := treeStrings(t, "sibling_ids of "+id, m["sibling_ids"]); !reflect.DeepEqual(got, want) {
				t.Fatalf("message %s has sibling_ids %v, want %v", id, got, want)
			}
			return
		}
	}
	t.Fatalf("message %s is not in the list %v", id, treeIDs(msgs))
}

// treeCurrent is the session's current_message_id ("" for null).
func treeCurrent(t testing.TB, c *harness.Client, sid string) string {
	t.Helper()
	s := genGetSession(t, c, sid)
	v, present := s["current_message_id"]
	if !present {
		t.Fatalf("session %s has no current_message_id field: %v", sid, s)
	}
	cur, _ := v.(string)
	return cur
}

// treeExpectCurrent checks the session's current message ("" for null).
func treeExpectCurrent(t testing.TB, c *harness.Client, sid, want, what string) {
	t.Helper()
	if got := treeCurrent(t, c, sid); got != want {
		t.Fatalf("%s: current_message_id = %q, want %q", what, got, want)
	}
}

// treeCount is the session's message_count.
func treeCount(t testing.TB, c *harness.Client, sid string) int {
	t.Helper()
	return genNum(t, "message_count", genGetSession(t, c, sid)["message_count"])
}

// treePost stores a user message without a reply; parent is "follow" (no
// parent_id), nil (null: a new first message) or a message id.
func treePost(t testing.TB, c *harness.Client, sid, content string, parent any) map[string]any {
	t.Helper()
	if parent == "follow" {
		return e2ePost(t, c, sid, content)
	}
	m := e2ePost(t, c, sid, content, map[string]any{"parent_id": parent})
	if m["parent_id"] != parent {
		t.Fatalf("message %q posted under %v has parent_id %v", content, parent, m["parent_id"])
	}
	return m
}

func treeRegeneratePath(id string) string { return "/api/v1/chat/messages/" + id + "/regenerate" }

// treeRegenerate asks for a new reply to the message and checks the 202: a
// placeholder that is generating.
func treeRegenerate(t testing.TB, c *harness.Client, id string, body any) map[string]any {
	t.Helper()
	res := c.Do("POST", treeRegeneratePath(id), body).Expect(http.StatusAccepted).Map()
	reply, _ := res["assistant_message"].(map[string]any)
	if reply == nil || reply["role"] != "assistant" || reply["content"] != "" || reply["error_message"] != nil ||
		(reply["status"] != "pending" && reply["status"] != "streaming") {
		t.Fatalf("regenerate %s answered %v, want a placeholder generating", id, res)
	}
	return reply
}

// treeSequenced reads the socket until stop holds for a sequenced frame and
// returns the sequenced frames read (typing, presence and the like left out).
func treeSequenced(t testing.TB, ws *harness.WS, stop func(harness.Frame) bool) []harness.Frame {
	t.Helper()
	var out []harness.Frame
	ws.Until(harness.WSTimeout, func(f harness.Frame) bool {
		if f.Seq == 0 {
			return false
		}
		out = append(out, f)
		return stop(f)
	})
	return out
}

// treeDeleted decodes message.deleted's data.
func treeDeleted(t testing.TB, f harness.Frame) (messageID string, deletedIDs []string) {
	t.Helper()
	if f.Type != "message.deleted" {
		t.Fatalf("frame %s (%.300s), want message.deleted", f.Type, f.Data)
	}
	d := f.DataMap(t)
	if len(d) != 2 {
		t.Fatalf("message.deleted data %v, want exactly {message_id, deleted_ids}", d)
	}
	messageID, _ = d["message_id"].(string)
	return messageID, treeStrings(t, "deleted_ids", d["deleted_ids"])
}

// treeSameSet compares id lists as sets.
func treeSameSet(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

// treeDelete deletes a message as c and checks what the socket (already
// past its snapshot) then receives: message.deleted naming the subtree,
// then session.updated with the session as it is now.
func treeDelete(t testing.TB, c *harness.Client, ws *harness.WS, sid, id string, subtree []string, current string) {
	t.Helper()
	before := treeCount(t, c, sid)
	c.Do("DELETE", "/api/v1/chat/messages/"+id, nil).Expect(http.StatusNoContent)
	frames := treeSequenced(t, ws, func(f harness.Frame) bool { return f.Type == "session.updated" })
	if len(frames) != 2 || frames[0].Type != "message.deleted" || frames[1].Seq != frames[0].Seq+1 {
		t.Fatalf("after deleting %s the socket got %v, want message.deleted then session.updated", id, wsTypes(frames))
	}
	gotID, gotIDs := treeDeleted(t, frames[0])
	if gotID != id || !treeSameSet(gotIDs, subtree) {
		t.Fatalf("message.deleted {message_id %s, deleted_ids %v}, want {%s, %v}", gotID, gotIDs, id, subtree)
	}
	s := frames[1].DataMap(t)
	if treeID(s) != sid || genStr(s["current_message_id"]) != current ||
		genNum(t, "message_count", s["message_count"]) != before-len(subtree) {
		t.Fatalf("session.updated after deleting %s = %v, want current_message_id %q and message_count %d",
			id, s, current, before-len(subtree))
	}
	treeExpectCurrent(t, c, sid, current, "after deleting "+id)
	if n := treeCount(t, c, sid); n != before-len(subtree) {
		t.Fatalf("message_count after deleting %d messages: %d, was %d", len(subtree), n, before)
	}
	all := treeIDs(treeList(t, c, sid, "all"))
	for _, gone := range subtree {
		if slices.Contains(all, gone) {
			t.Fatalf("deleted message %s is still listed: %v", gone, all)
		}
	}
	if len(all) != before-len(subtree) {
		t.Fatalf("branch=all lists %d messages after the delete, message_count says %d", len(all), before-len(subtree))
	}
}

func TestTree(t *testing.T) {
	t.Parallel()
	harness.ForEachDialect(t, func(t *testing.T, d harness.Dialect) {
		t.Parallel()
		cfg := harness.DefaultConfig(t, d)
		cfg.RateLimitLLM = 0
		cfg.MaxConcurrentGenerations = 0
		sim := harness.WithUpstream(t, &cfg, llmsim.Options{})
		ends := &treeEnds{}
		sim.OnFinish(ends.record)
		srv := harness.Start(t, cfg)

		t.Run("regenerate", func(t *testing.T) {
			t.Parallel()
			owner, member, viewer, stranger := srv.NewUser(t), srv.NewUser(t), srv.NewUser(t), srv.NewUser(t)
			const tokens = 6
			model := genModel("tokens=6")
			sid := treeSession(t, owner, model)
			treeJoin(t, owner, sid, member, "member")
			treeJoin(t, owner, sid, viewer, "viewer")
			q1 := "Which way is the river from here?"
			u1, r1 := genReply(t, owner, sid, q1, nil)

			// A reply regenerated: a sibling under the same turn, current at once.
			r2 := treeRegenerate(t, owner, treeID(r1), nil)
			if r2["parent_id"] != u1["id"] || treeID(r2) == treeID(r1) || r2["session_id"] != sid ||
				r2["llm_model"] != model || r2["llm_provider"] != "LOCAL" {
				t.Fatalf("regenerating %s (under %s) answered %v", treeID(r1), treeID(u1), r2)
			}
			treeExpectCurrent(t, owner, sid, treeID(r2), "right after the regenerate's 202")
			r2 = genAwait(t, owner, sid, treeID(r2))
			reqs := genOnly(t, harness.Completions(sim, genBase(model), true), 2, "a reply and its regeneration")
			genCheckCompleted(t, r2, llmsim.ExpectedReply(q1, tokens), reqs[1], tokens)
			// The model answers the same turn again, without the reply it replaces.
			if got, want := genPrompt(reqs[1]), []string{"user: " + q1}; !reflect.DeepEqual(got, want) {
				t.Fatalf("the regeneration sent %q, want %q", got, want)
			}
			cur := treeList(t, owner, sid, "current")
			treeExpectBranch(t, "branch=current after the regenerate", cur, treeIDsOf(u1, r2)...)
			if def := treeList(t, owner, sid, ""); !reflect.DeepEqual(def, cur) {
				t.Fatalf("the default list\n%v\ndiffers from branch=current\n%v", def, cur)
			}
			treeExpectSiblings(t, cur, treeID(u1), treeID(u1))
			treeExpectSiblings(t, cur, treeID(r2), treeID(r1), treeID(r2))
			all := treeList(t, owner, sid, "all")
			treeExpectBranch(t, "branch=all after the regenerate", all, treeIDsOf(u1, r1, r2)...)
			treeExpectSiblings(t, all, treeID(r1), treeID(r1), treeID(r2))
			treeExpectSiblings(t, all, treeID(r2), treeID(r1), treeID(r2))
			if all[1]["content"] != r1["content"] || all[1]["status"] != "completed" {
				t.Fatalf("the replaced reply changed: %v, was %v", all[1], r1)
			}

			// A user message regenerated: a reply under it, with the branch as context.
			q2 := "And how do I get across it?"
			u2 := treePost(t, owner, sid, q2, "follow")
			if u2["parent_id"] != r2["id"] {
				t.Fatalf("the next post follows %v, want the current reply %s", u2["parent_id"], treeID(r2))
			}
			r3 := treeRegenerate(t, owner, treeID(u2), map[string]any{})
			if r3["parent_id"] != u2["id"] || r3["llm_model"] != model {
				t.Fatalf("regenerating the user message %s answered %v", treeID(u2), r3)
			}
			treeExpectCurrent(t, owner, sid, treeID(r3), "after regenerating a user message")
			r3 = genAwait(t, owner, sid, treeID(r3))
			reqs = genOnly(t, harness.Completions(sim, genBase(model), true), 3, "after regenerating a user message")
			genCheckCompleted(t, r3, llmsim.ExpectedReply(q2, tokens), reqs[2], tokens)
			branch := []string{"user: " + q1, "assistant: " + r2["content"].(string), "user: " + q2}
			if got := genPrompt(reqs[2]); !reflect.DeepEqual(got, branch) {
				t.Fatalf("the reply to a regenerated user message sent\n %q\nwant\n %q", got, branch)
			}
			cur = treeList(t, owner, sid, "current")
			treeExpectBranch(t, "branch=current", cur, treeIDsOf(u1, r2, u2, r3)...)
			treeExpectSiblings(t, cur, treeID(r3), treeID(r3))

			// ?wait=true (here by a member, who may post): 200 with the finished sibling.
			res := member.Do("POST", treeRegeneratePath(treeID(r3))+"?wait=true", nil).Expect(http.StatusOK).Map()
			r4, _ := res["assistant_message"].(map[string]any)
			if len(res) != 1 || r4 == nil || r4["status"] != "completed" || r4["is_streaming"] != false ||
				r4["content"] != llmsim.ExpectedReply(q2, tokens) || r4["parent_id"] != u2["id"] || treeID(r4) == treeID(r3) {
				t.Fatalf("regenerate?wait=true answered %v", res)
			}
			if stored := genMessage(t, owner, sid, treeID(r4)); !reflect.DeepEqual(stored, r4) {
				t.Fatalf("wait=true answered\n%v\nbut stored is\n%v", r4, stored)
			}
			treeExpectCurrent(t, owner, sid, treeID(r4), "after regenerate?wait=true")

			// Accept: text/event-stream: the new reply's events, to its end.
			s := owner.PostSSE(treeRegeneratePath(treeID(r4)), map[string]any{})
			if !s.IsStream() {
				t.Fatalf("SSE regenerate: status %d, content type %q, body %.400s", s.Status, s.Header.Get("Content-Type"), s.Body)
			}
			events := s.All()
			if len(events) != 1+tokens+1 {
				t.Fatalf("%d events, want created + %d deltas + completed: %v", len(events), tokens, genEventTypes(events))
			}
			var text strings.Builder
			var r5 string
			for i, e := range events {
				f := e.Frame(t)
				data := f.DataMap(t)
				if e.Event != f.Type || e.ID != strconv.FormatInt(f.Seq, 10) || f.SessionID != sid ||
					(i > 0 && f.Seq != events[0].Frame(t).Seq+int64(i)) {
					t.Fatalf("event %d: event %q id %q, frame %s seq %d session %s", i, e.Event, e.ID, f.Type, f.Seq, f.SessionID)
				}
				switch {
				case i == 0:
					if f.Type != "message.created" || data["role"] != "assistant" || data["parent_id"] != u2["id"] {
						t.Fatalf("first event %s %v, want the new reply's message.created under %s", f.Type, data, treeID(u2))
					}
					if _, has := data["sibling_ids"]; has {
						t.Fatalf("an event carries sibling_ids: %v", data)
					}
					r5 = treeID(data)
				case i < len(events)-1:
					if f.Type != "message.delta" || data["message_id"] != r5 || genNum(t, "index", data["index"]) != i-1 {
						t.Fatalf("event %d = %s %v, want delta %d of %s", i, f.Type, data, i-1, r5)
					}
					text.WriteString(data["delta"].(string))
				default:
					if f.Type != "message.completed" || treeID(data) != r5 || data["content"] != text.String() {
						t.Fatalf("last event %s %v; the deltas built %q", f.Type, data, text.String())
					}
				}
			}
			if text.String() != llmsim.ExpectedReply(q2, tokens) {
				t.Fatalf("the streamed regeneration is %q, want %q", text.String(), llmsim.ExpectedReply(q2, tokens))
			}
			treeExpectCurrent(t, owner, sid, r5, "after the SSE regenerate")
			treeExpectSiblings(t, treeList(t, owner, sid, "current"), r5, treeID(r3), treeID(r4), r5)

			// An llm_model override answers this reply only, and is what goes upstream.
			other := genModel("tokens=3")
			r6 := treeRegenerate(t, owner, r5, map[string]any{"llm_model": other})
			if r6["llm_model"] != other || r6["llm_provider"] != "LOCAL" || r6["parent_id"] != u2["id"] {
				t.Fatalf("regenerate with llm_model %s answered %v", other, r6)
			}
			r6 = genAwait(t, owner, sid, treeID(r6))
			req := genOnly(t, harness.Completions(sim, genBase(other), true), 1, "the override")[0]
			if req.Model != other {
				t.Fatalf("the override sent model %q upstream, want %q", req.Model, other)
			}
			genCheckCompleted(t, r6, llmsim.ExpectedReply(q2, 3), req, 3)
			if got := genPrompt(req); !reflect.DeepEqual(got, branch) {
				t.Fatalf("the override's reply sent\n %q\nwant\n %q", got, branch)
			}
			genOnly(t, harness.Completions(sim, genBase(model), true), 5, "the session's model, after an override")
			if s := genGetSession(t, owner, sid); s["llm_model"] != model {
				t.Fatalf("an override changed the session's llm_model to %v", s["llm_model"])
			}

			// Refusals store nothing and move nothing.
			count := treeCount(t, owner, sid)
			viewer.Do("POST", treeRegeneratePath(treeID(r6)), nil).Problem(http.StatusForbidden)
			viewer.Do("POST", treeRegeneratePath(treeID(r6))+"?wait=true", nil).Problem(http.StatusForbidden)
			stranger.Do("POST", treeRegeneratePath(treeID(r6)), nil).Problem(http.StatusNotFound)
			stranger.Do("POST", treeRegeneratePath(treeID(r6))+"?wait=true", nil).Problem(http.StatusNotFound)
			owner.Do("POST", treeRegeneratePath(genRandomID()), nil).Problem(http.StatusNotFound)
			for _, bad := range []string{"not-a-uuid", strings.ToUpper(treeID(r6)), strings.ReplaceAll(treeID(r6), "-", "")} {
				owner.Do("POST", treeRegeneratePath(bad), nil).Problem(http.StatusBadRequest)
			}
			if n := treeCount(t, owner, sid); n != count {
				t.Fatalf("refused regenerations changed message_count from %d to %d", count, n)
			}
			treeExpectCurrent(t, owner, sid, treeID(r6), "after refused regenerations")

			// A reply still generating cannot be regenerated: 409 until it ends.
			slow := genModel("tokens=400", "tps=20")
			rs := treeRegenerate(t, owner, treeID(r6), map[string]any{"llm_model": slow})
			owner.Do("POST", treeRegeneratePath(treeID(rs)), nil).Problem(http.StatusConflict)
			owner.Do("POST", treeRegeneratePath(treeID(rs))+"?wait=true", nil).Problem(http.StatusConflict)
			if got := treeIDs(treeList(t, owner, sid, "all")); len(got) != count+1 {
				t.Fatalf("after a 409, branch=all lists %d messages, want %d", len(got), count+1)
			}
			if m := owner.Do("POST", "/api/v1/chat/messages/"+treeID(rs)+"/cancel", nil).Expect(http.StatusOK).Map(); m["status"] != "cancelled" {
				t.Fatalf("cancel answered %v", m)
			}
			treeExpectSiblings(t, treeList(t, owner, sid, "current"), treeID(rs),
				treeID(r3), treeID(r4), r5, treeID(r6), treeID(rs))
		})

		t.Run("switch branch", func(t *testing.T) {
			t.Parallel()
			owner, member, viewer, stranger := srv.NewUser(t), srv.NewUser(t), srv.NewUser(t), srv.NewUser(t)
			model := genModel("tokens=4")
			sid := treeSession(t, owner, model)
			treeJoin(t, owner, sid, member, "member")
			treeJoin(t, owner, sid, viewer, "viewer")
			u1, r1 := genReply(t, owner, sid, "Tell me about oak trees", nil)
			u2 := treePost(t, owner, sid, "older follow-up", "follow")
			u3 := treePost(t, owner, sid, "newer follow-up", treeID(r1))
			u4 := treePost(t, owner, sid, "deeper still", "follow")
			if u4["parent_id"] != u3["id"] {
				t.Fatalf("a post follows %v, want the current message %s", u4["parent_id"], treeID(u3))
			}
			r2 := genAwait(t, owner, sid, treeID(treeRegenerate(t, owner, treeID(r1), nil)))
			treeExpectBranch(t, "branch=current after the regenerate", treeList(t, owner, sid, "current"), treeIDsOf(u1, r2)...)

			wsOwner, wsViewer := owner.WS(sid), viewer.WS(sid)
			harness.DecodeSnapshot(t, wsOwner.Expect(harness.WSTimeout))
			harness.DecodeSnapshot(t, wsViewer.Expect(harness.WSTimeout))
			path := "/api/v1/chat/sessions/" + sid
			// switched checks that each socket got exactly one event, the
			// session.updated with the new current message.
			switched := func(t *testing.T, want string) {
				t.Helper()
				for _, ws := range []*harness.WS{wsOwner, wsViewer} {
					frames := treeSequenced(t, ws, func(f harness.Frame) bool { return f.Type == "session.updated" })
					if len(frames) != 1 {
						t.Fatalf("a switch sent %v, want one session.updated", wsTypes(frames))
					}
					if s := frames[0].DataMap(t); treeID(s) != sid || s["current_message_id"] != want || s["title"] != "tree" {
						t.Fatalf("session.updated = %v, want current_message_id %s", s, want)
					}
				}
			}

			// A member chooses the older reply: the branch under it, newest child at each step.
			got := member.Do("PUT", path, map[string]any{"current_message_id": treeID(r1)}).Expect(http.StatusOK).Map()
			if treeID(got) != sid || got["current_message_id"] != u4["id"] || got["title"] != "tree" || got["llm_model"] != model {
				t.Fatalf("switching to %s answered %v, want current_message_id %s (the newest leaf under it)", treeID(r1), got, treeID(u4))
			}
			switched(t, treeID(u4))
			cur := treeList(t, member, sid, "current")
			treeExpectBranch(t, "the branch under the older reply", cur, treeIDsOf(u1, r1, u3, u4)...)
			treeExpectSiblings(t, cur, treeID(r1), treeID(r1), treeID(r2))
			treeExpectSiblings(t, cur, treeID(u3), treeID(u2), treeID(u3))
			treeExpectCurrent(t, viewer, sid, treeID(u4), "after the member's switch")
			if msgs := treeList(t, viewer, sid, ""); !reflect.DeepEqual(msgs, cur) {
				t.Fatalf("the viewer's default list differs from the branch chosen:\n%v\n%v", treeIDs(msgs), treeIDs(cur))
			}

			// A leaf chosen stays; the owner may switch too.
			got = owner.Do("PUT", path, map[string]any{"current_message_id": treeID(u2)}).Expect(http.StatusOK).Map()
			if got["current_message_id"] != u2["id"] {
				t.Fatalf("switching to the leaf %s answered current_message_id %v", treeID(u2), got["current_message_id"])
			}
			switched(t, treeID(u2))
			treeExpectBranch(t, "the older follow-up's branch", treeList(t, owner, sid, "current"), treeIDsOf(u1, r1, u2)...)
			// Choosing the first message follows the newest child at each step: the regenerated reply.
			got = owner.Do("PUT", path, map[string]any{"current_message_id": treeID(u1)}).Expect(http.StatusOK).Map()
			if got["current_message_id"] != r2["id"] {
				t.Fatalf("switching to the first message answered current_message_id %v, want the newest leaf %s", got["current_message_id"], treeID(r2))
			}
			switched(t, treeID(r2))

			// Refused switches change nothing and announce nothing.
			otherSid := treeSession(t, owner, model)
			elsewhere := treePost(t, owner, otherSid, "elsewhere", "follow")
			viewer.Do("PUT", path, map[string]any{"current_message_id": treeID(u4)}).Problem(http.StatusForbidden)
			stranger.Do("PUT", path, map[string]any{"current_message_id": treeID(u4)}).Problem(http.StatusNotFound)
			member.Do("PUT", path, map[string]any{"current_message_id": treeID(u4), "title": "renamed"}).Problem(http.StatusForbidden)
			for _, id := range []string{treeID(elsewhere), genRandomID()} {
				p := owner.Do("PUT", path, map[string]any{"current_message_id": id}).Problem(http.StatusUnprocessableEntity)
				if len(p.Errors) != 1 || p.Errors[0].Field != "current_message_id" {
					t.Fatalf("switching to %s (not a message of the session): errors %+v, want one on current_message_id", id, p.Errors)
				}
			}
			if r := owner.Do("PUT", path, map[string]any{"current_message_id": "not-a-uuid"}); r.Status != http.StatusBadRequest &&
				r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("a malformed current_message_id: status %d, want 400 or 422; body %.300s", r.Status, r.Body)
			} else {
				r.Problem(r.Status)
			}
			treeExpectCurrent(t, owner, sid, treeID(r2), "after refused switches")
			treeExpectCurrent(t, owner, otherSid, treeID(elsewhere), "the other session, after a switch named its message")
			if s := genGetSession(t, owner, sid); s["title"] != "tree" {
				t.Fatalf("a refused update renamed the session: %v", s["title"])
			}
			// The next event on the sockets is this switch's: the refusals sent none.
			member.Do("PUT", path, map[string]any{"current_message_id": treeID(u3)}).Expect(http.StatusOK)
			switched(t, treeID(u4))
		})

		t.Run("edit and resend", func(t *testing.T) {
			t.Parallel()
			owner := srv.NewUser(t)
			const tokens = 5
			model := genModel("tokens=5")
			sid := treeSession(t, owner, model)
			qa, qb, qbEdited := "Alpha question about maps", "Beta question, the first wording", "Beta question, worded better"
			u1, r1 := genReply(t, owner, sid, qa, nil)
			u2, r2 := genReply(t, owner, sid, qb, nil)

			// Edit u2 and resend: a post under u2's parent forks there.
			u2e, r2e := genSend(t, owner, sid, qbEdited, map[string]any{"parent_id": u2["parent_id"]})
			if u2e["parent_id"] != r1["id"] {
				t.Fatalf("the edited message has parent_id %v, want %s", u2e["parent_id"], treeID(r1))
			}
			treeExpectCurrent(t, owner, sid, treeID(r2e), "right after the resend's 201")
			r2e = genAwait(t, owner, sid, treeID(r2e))
			reqs := genOnly(t, harness.Completions(sim, genBase(model), true), 3, "two replies and a resend")
			genCheckCompleted(t, r2e, llmsim.ExpectedReply(qbEdited, tokens), reqs[2], tokens)
			want := []string{"user: " + qa, "assistant: " + r1["content"].(string), "user: " + qbEdited}
			prompt := genPrompt(reqs[2])
			if !reflect.DeepEqual(prompt, want) {
				t.Fatalf("the resend sent\n %q\nwant only its branch\n %q", prompt, want)
			}
			for _, line := range prompt {
				if strings.Contains(line, qb) || strings.Contains(line, r2["content"].(string)) {
					t.Fatalf("the old branch reached the model: %q", prompt)
				}
			}
			cur := treeList(t, owner, sid, "current")
			treeExpectBranch(t, "branch=current after the resend", cur, treeIDsOf(u1, r1, u2e, r2e)...)
			treeExpectSiblings(t, cur, treeID(u2e), treeID(u2), treeID(u2e))
			treeExpectSiblings(t, cur, treeID(r2e), treeID(r2e))

			// Editing the first message: parent_id null makes a new root.
			qaEdited := "Alpha question, from the top"
			u1e, r1e := genSend(t, owner, sid, qaEdited, map[string]any{"parent_id": nil})
			if v, has := u1e["parent_id"]; !has || v != nil {
				t.Fatalf("a post with parent_id null answered parent_id %#v", v)
			}
			r1e = genAwait(t, owner, sid, treeID(r1e))
			reqs = genOnly(t, harness.Completions(sim, genBase(model), true), 4, "after a new root")
			if got := genPrompt(reqs[3]); !reflect.DeepEqual(got, []string{"user: " + qaEdited}) {
				t.Fatalf("the new root's reply sent %q, want only the new root", got)
			}
			genCheckCompleted(t, r1e, llmsim.ExpectedReply(qaEdited, tokens), reqs[3], tokens)
			cur = treeList(t, owner, sid, "current")
			treeExpectBranch(t, "branch=current on the new root", cur, treeIDsOf(u1e, r1e)...)
			treeExpectSiblings(t, cur, treeID(u1e), treeID(u1), treeID(u1e))
			all := treeList(t, owner, sid, "all")
			treeExpectBranch(t, "branch=all", all, treeIDsOf(u1, r1, u2, r2, u2e, r2e, u1e, r1e)...)
			if n := treeCount(t, owner, sid); n != 8 {
				t.Fatalf("message_count = %d, want 8 (every branch)", n)
			}

			// A parent outside the session, or not an id, stores nothing.
			other := treeSession(t, owner, model)
			foreign := treePost(t, owner, other, "a message of another session", "follow")
			path := "/api/v1/chat/sessions/" + sid + "/messages"
			for _, processLLM := range []bool{false, true} {
				body := map[string]any{"content": "misplaced", "parent_id": treeID(foreign), "process_llm": processLLM}
				p := owner.Do("POST", path, body).Problem(http.StatusUnprocessableEntity)
				if len(p.Errors) != 1 || p.Errors[0].Field != "parent_id" {
					t.Fatalf("a parent of another session: errors %+v, want one on parent_id", p.Errors)
				}
				body["parent_id"] = genRandomID()
				owner.Do("POST", path, body).Problem(http.StatusUnprocessableEntity)
			}
			for _, raw := range []string{
				`{"content": "misplaced", "process_llm": false, "parent_id": "not-a-uuid"}`,
				`{"content": "misplaced", "process_llm": false, "parent_id": "` + strings.ToUpper(treeID(u1)) + `"}`,
				`{"content": "misplaced", "process_llm": false, "parent_id": 42}`,
				`{"content": "misplaced", "process_llm": false, "parent_id": {"id": "` + treeID(u1) + `"}}`,
			} {
				r := owner.Do("POST", path, raw)
				if r.Status != http.StatusBadRequest && r.Status != http.StatusUnprocessableEntity {
					t.Fatalf("%s: status %d, want 400 or 422; body %.300s", raw, r.Status, r.Body)
				}
				r.Problem(r.Status)
			}
			if n := treeCount(t, owner, sid); n != 8 {
				t.Fatalf("refused posts changed message_count to %d", n)
			}
			treeExpectCurrent(t, owner, sid, treeID(r1e), "after refused posts")
			genOnly(t, harness.Completions(sim, genBase(model), true), 4, "after refused posts")
			if n := treeCount(t, owner, other); n != 1 {
				t.Fatalf("the other session has %d messages, want 1", n)
			}
		})

		t.Run("concurrent posts form one chain", func(t *testing.T) {
			t.Parallel()
			owner, member := srv.NewUser(t), srv.NewUser(t)
			sid := treeSession(t, owner, genModel())
			treeJoin(t, owner, sid, member, "member")
			seed := treePost(t, owner, sid, "before the crowd", "follow")
			const n = 20
			type answer struct {
				status int
				body   []byte
				err    error
			}
			answers := make([]answer, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				c := owner
				if i%2 == 1 {
					c = member
				}
				wg.Go(func() {
					body := fmt.Sprintf(`{"content": "concurrent %d", "process_llm": false}`, i)
					req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
						srv.URL+"/api/v1/chat/sessions/"+sid+"/messages", strings.NewReader(body))
					if err != nil {
						answers[i].err = err
						return
					}
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+c.Token)
					<-start
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						answers[i].err = err
						return
					}
					defer func() { _ = resp.Body.Close() }()
					answers[i].status = resp.StatusCode
					answers[i].body, answers[i].err = io.ReadAll(resp.Body)
				})
			}
			close(start)
			wg.Wait()
			posted := map[string]string{} // id -> content
			for i, a := range answers {
				if a.err != nil || a.status != http.StatusCreated {
					t.Fatalf("concurrent post %d: status %d, error %v, body %.300s", i, a.status, a.err, a.body)
				}
				var res struct {
					UserMessage map[string]any `json:"user_message"`
				}
				if err := json.Unmarshal(a.body, &res); err != nil || res.UserMessage == nil {
					t.Fatalf("concurrent post %d answered %.300s (%v)", i, a.body, err)
				}
				posted[treeID(res.UserMessage)] = res.UserMessage["content"].(string)
			}
			if len(posted) != n {
				t.Fatalf("%d posts created %d distinct messages", n, len(posted))
			}

			cur := treeList(t, owner, sid, "current")
			if len(cur) != n+1 || treeID(cur[0]) != treeID(seed) {
				t.Fatalf("branch=current lists %d messages starting with %v, want the seed and all %d posts", len(cur), treeIDs(cur[:1]), n)
			}
			for i, m := range cur[1:] {
				if _, ok := posted[treeID(m)]; !ok || m["content"] != posted[treeID(m)] {
					t.Fatalf("listed message %d (%v %q) is not one of the posts", i+1, m["id"], m["content"])
				}
				if m["parent_id"] != cur[i]["id"] {
					t.Fatalf("message %d of the chain has parent_id %v, want the previous one %v: the posts forked", i+1, m["parent_id"], cur[i]["id"])
				}
			}
			for _, m := range cur {
				treeExpectSiblings(t, cur, treeID(m), treeID(m))
			}
			treeExpectCurrent(t, owner, sid, treeID(cur[n]), "after the concurrent posts")
			all := treeList(t, owner, sid, "all")
			if !treeSameSet(treeIDs(all), treeIDs(cur)) {
				t.Fatalf("branch=all lists %d messages, branch=current %d: %v vs %v", len(all), len(cur), treeIDs(all), treeIDs(cur))
			}
			if c := treeCount(t, owner, sid); c != n+1 {
				t.Fatalf("message_count = %d, want %d", c, n+1)
			}
		})

		t.Run("delete a subtree", func(t *testing.T) {
			t.Parallel()
			owner := srv.NewUser(t)
			sid := treeSession(t, owner, genModel())
			ws := owner.WS(sid)
			harness.DecodeSnapshot(t, ws.Expect(harness.WSTimeout))
			a := treePost(t, owner, sid, "A", "follow")
			b := treePost(t, owner, sid, "B", "follow")
			b2 := treePost(t, owner, sid, "B2", "follow")
			f := treePost(t, owner, sid, "F", treeID(a))
			c := treePost(t, owner, sid, "C", treeID(a))
			d := treePost(t, owner, sid, "D", "follow")
			treeSequenced(t, ws, func(fr harness.Frame) bool {
				return fr.Type == "message.created" && treeID(fr.DataMap(t)) == treeID(d)
			})
			treeExpectCurrent(t, owner, sid, treeID(d), "after the posts")
			treeExpectBranch(t, "branch=current", treeList(t, owner, sid, "current"), treeIDsOf(a, c, d)...)

			// Off the current branch: the current message stays.
			treeDelete(t, owner, ws, sid, treeID(f), []string{treeID(f)}, treeID(d))
			treeExpectSiblings(t, treeList(t, owner, sid, "all"), treeID(c), treeID(b), treeID(c))
			// Through it: the newest leaf under the parent.
			treeDelete(t, owner, ws, sid, treeID(c), treeIDsOf(c, d), treeID(b2))
			treeExpectBranch(t, "branch=current after deleting C", treeList(t, owner, sid, "current"), treeIDsOf(a, b, b2)...)
			// Nothing else under the parent: the parent itself.
			treeDelete(t, owner, ws, sid, treeID(b), treeIDsOf(b, b2), treeID(a))
			treeExpectBranch(t, "branch=current after deleting B", treeList(t, owner, sid, "current"), treeIDsOf(a)...)
			// A first message without siblings: null, and the session is empty.
			treeDelete(t, owner, ws, sid, treeID(a), treeIDsOf(a), "")
			if msgs := treeList(t, owner, sid, "current"); len(msgs) != 0 {
				t.Fatalf("an empty session lists %v", treeIDs(msgs))
			}
			owner.Do("DELETE", "/api/v1/chat/messages/"+treeID(a), nil).Problem(http.StatusNotFound)

			// A first message with a sibling: the newest leaf of the newest first message left.
			r1 := treePost(t, owner, sid, "R1", nil)
			r1a := treePost(t, owner, sid, "R1a", "follow")
			r2 := treePost(t, owner, sid, "R2", nil)
			r2a := treePost(t, owner, sid, "R2a", "follow")
			treeSequenced(t, ws, func(fr harness.Frame) bool {
				return fr.Type == "message.created" && treeID(fr.DataMap(t)) == treeID(r2a)
			})
			treeExpectSiblings(t, treeList(t, owner, sid, "current"), treeID(r2), treeID(r1), treeID(r2))
			treeDelete(t, owner, ws, sid, treeID(r2), treeIDsOf(r2, r2a), treeID(r1a))
			treeExpectBranch(t, "branch=current after deleting the newer root", treeList(t, owner, sid, "current"), treeIDsOf(r1, r1a)...)
			treeExpectSiblings(t, treeList(t, owner, sid, "current"), treeID(r1), treeID(r1))
		})

		t.Run("who may delete", func(t *testing.T) {
			t.Parallel()
			owner, member, other, viewer, stranger := srv.NewUser(t), srv.NewUser(t), srv.NewUser(t), srv.NewUser(t), srv.NewUser(t)
			sid := treeSession(t, owner, genModel("tokens=3"))
			for _, p := range []struct {
				c    *harness.Client
				role string
			}{{member, "member"}, {other, "member"}, {viewer, "viewer"}} {
				treeJoin(t, owner, sid, p.c, p.role)
			}
			ws := viewer.WS(sid)
			harness.DecodeSnapshot(t, ws.Expect(harness.WSTimeout))
			ou, or := genReply(t, owner, sid, "the owner asks", nil)
			mu, mr := genReply(t, member, sid, "the member asks", nil)
			treeSequenced(t, ws, func(f harness.Frame) bool {
				return f.Type == "message.completed" && treeID(f.DataMap(t)) == treeID(mr)
			})
			del := func(id string) string { return "/api/v1/chat/messages/" + id }

			// Another member may not delete the member's message, nor anyone the owner's.
			other.Do("DELETE", del(treeID(mu)), nil).Problem(http.StatusForbidden)
			member.Do("DELETE", del(treeID(ou)), nil).Problem(http.StatusForbidden)
			// A reply has no author among the users: only the owner deletes it.
			member.Do("DELETE", del(treeID(mr)), nil).Problem(http.StatusForbidden)
			viewer.Do("DELETE", del(treeID(mu)), nil).Problem(http.StatusForbidden)
			viewer.Do("DELETE", del(treeID(ou)), nil).Problem(http.StatusForbidden)
			stranger.Do("DELETE", del(treeID(mu)), nil).Problem(http.StatusNotFound)
			owner.Do("DELETE", del(genRandomID()), nil).Problem(http.StatusNotFound)
			for _, bad := range []string{"not-a-uuid", strings.ToUpper(treeID(mu)), "{" + treeID(mu) + "}"} {
				owner.Do("DELETE", del(bad), nil).Problem(http.StatusBadRequest)
			}
			treeExpectBranch(t, "after refused deletes", treeList(t, owner, sid, "all"), treeIDsOf(ou, or, mu, mr)...)

			// The author deletes their message, with the reply under it.
			treeDelete(t, member, ws, sid, treeID(mu), treeIDsOf(mu, mr), treeID(or))
			// The owner deletes any message.
			treeDelete(t, owner, ws, sid, treeID(or), treeIDsOf(or), treeID(ou))
		})

		t.Run("delete while a reply streams", func(t *testing.T) {
			t.Parallel()
			owner := srv.NewUser(t)
			fast := genModel("tokens=3")
			sid := treeSession(t, owner, fast)
			_, r0 := genReply(t, owner, sid, "a quick one first", nil)
			ws := owner.WS(sid)
			harness.DecodeSnapshot(t, ws.Expect(harness.WSTimeout))

			// 60 tokens at 20 a second: about three seconds of streaming.
			slow := genModel("tokens=60", "tps=20")
			u, reply := genSend(t, owner, sid, "now a slow one", map[string]any{"llm_model": slow})
			replyID := treeID(reply)
			deltas := 0
			treeSequenced(t, ws, func(f harness.Frame) bool {
				if f.Type == "message.delta" && f.DataMap(t)["message_id"] == replyID {
					deltas++
				}
				return deltas == 3
			})
			streamEnds := time.Now().Add(3 * time.Second)

			owner.Do("DELETE", "/api/v1/chat/messages/"+treeID(u), nil).Expect(http.StatusNoContent)
			// Deltas already on their way may still come before message.deleted; nothing of the reply after it.
			frames := treeSequenced(t, ws, func(f harness.Frame) bool { return f.Type == "message.deleted" })
			for _, f := range frames[:len(frames)-1] {
				if f.Type != "message.delta" {
					t.Fatalf("before message.deleted the socket got %s %.300s", f.Type, f.Data)
				}
			}
			gotID, gotIDs := treeDeleted(t, frames[len(frames)-1])
			if gotID != treeID(u) || !treeSameSet(gotIDs, []string{treeID(u), replyID}) {
				t.Fatalf("message.deleted {%s, %v}, want {%s, [%s %s]}", gotID, gotIDs, treeID(u), treeID(u), replyID)
			}
			var after []harness.Frame
			for deadline := streamEnds.Add(2 * time.Second); time.Now().Before(deadline); {
				f, err := ws.Next(time.Until(deadline))
				if errors.Is(err, harness.ErrWSTimeout) {
					break
				}
				if err != nil {
					t.Fatalf("socket after the delete: %v", err)
				}
				if f.Seq > 0 {
					after = append(after, f)
				}
			}
			if len(after) != 1 || after[0].Type != "session.updated" {
				t.Fatalf("after message.deleted the socket got %v, want only session.updated", wsTypes(after))
			}
			if s := after[0].DataMap(t); s["current_message_id"] != r0["id"] || genNum(t, "message_count", s["message_count"]) != 2 {
				t.Fatalf("session.updated after the delete = %v, want current_message_id %s and message_count 2", s, treeID(r0))
			}

			// The upstream request was closed, well before its end.
			end := ends.await(t, slow, 5*time.Second)
			if !end.Cancelled || end.Tokens >= 60 {
				t.Fatalf("the upstream request of the deleted reply ended %+v, want cancelled before its 60 tokens", end)
			}
			// Past the time the stream would have ended, the messages stay gone.
			for _, branch := range []string{"current", "all"} {
				msgs := treeList(t, owner, sid, branch)
				if ids := treeIDs(msgs); slices.Contains(ids, treeID(u)) || slices.Contains(ids, replyID) || len(ids) != 2 {
					t.Fatalf("branch=%s after the delete lists %v", branch, ids)
				}
			}
			treeExpectCurrent(t, owner, sid, treeID(r0), "after deleting the streaming turn")
			if n := treeCount(t, owner, sid); n != 2 {
				t.Fatalf("message_count = %d, want 2", n)
			}
			owner.Do("POST", "/api/v1/chat/messages/"+replyID+"/cancel", nil).Problem(http.StatusNotFound)
			// And the next turn follows what is left.
			next := treePost(t, owner, sid, "carry on", "follow")
			if next["parent_id"] != r0["id"] {
				t.Fatalf("the next post follows %v, want %s", next["parent_id"], treeID(r0))
			}
		})

		t.Run("waiters of a deleted reply are answered", func(t *testing.T) {
			t.Parallel()
			owner := srv.NewUser(t)
			slow := genModel("tokens=60", "tps=20")
			sid := treeSession(t, owner, slow)

			// SSE: the stream ends with message.deleted instead of hanging.
			s := owner.PostSSE("/api/v1/chat/sessions/"+sid+"/messages", map[string]any{"content": "stream, then vanish"})
			defer s.Close()
			var userID string
			deltas := 0
			for deltas < 2 {
				e, ok := s.Next()
				if !ok {
					t.Fatal("the stream ended before the delete")
				}
				f := e.Frame(t)
				if f.Type == "message.created" && f.DataMap(t)["role"] == "user" {
					userID = f.DataMap(t)["id"].(string)
				}
				if f.Type == "message.delta" {
					deltas++
				}
			}
			owner.Do("DELETE", "/api/v1/chat/messages/"+userID, nil).Expect(http.StatusNoContent)
			started := time.Now()
			rest := s.All()
			if time.Since(started) > 2*time.Second || len(rest) == 0 || rest[len(rest)-1].Frame(t).Type != "message.deleted" {
				t.Fatalf("after the delete the stream sent %d events in %v; want it to end with message.deleted at once",
					len(rest), time.Since(started))
			}

			// ?wait=true: a 409 problem once the reply is deleted.
			before := treeCurrent(t, owner, sid)
			answered := make(chan *harness.Response, 1)
			go func() {
				answered <- owner.Do("POST", "/api/v1/chat/sessions/"+sid+"/messages?wait=true",
					map[string]any{"content": "wait, then vanish"})
			}()
			// The post's reply becomes current in the transaction that stores it.
			var waitedID string
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if cur := treeCurrent(t, owner, sid); cur != before {
					waitedID = cur
					break
				}
			}
			if waitedID == "" {
				t.Fatal("the waited post was never stored")
			}
			owner.Do("DELETE", "/api/v1/chat/messages/"+waitedID, nil).Expect(http.StatusNoContent)
			select {
			case res := <-answered:
				if p := res.Problem(http.StatusConflict); !strings.HasSuffix(p.Type, "reply-deleted") {
					t.Fatalf("wait=true on a deleted reply answered %+v", p)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("wait=true on a deleted reply was never answered")
			}
		})

		t.Run("branch=current and branch=all", func(t *testing.T) {
			t.Parallel()
			owner, viewer := srv.NewUser(t), srv.NewUser(t)
			sid := treeSession(t, owner, genModel())
			treeJoin(t, owner, sid, viewer, "viewer")
			a := treePost(t, owner, sid, "A", "follow")
			b := treePost(t, owner, sid, "B", "follow")
			c := treePost(t, owner, sid, "C", "follow")
			b2 := treePost(t, owner, sid, "B edited", treeID(a))
			d := treePost(t, owner, sid, "D", "follow")

			cur := treeList(t, viewer, sid, "current")
			treeExpectBranch(t, "branch=current", cur, treeIDsOf(a, b2, d)...)
			if def := treeList(t, viewer, sid, ""); !reflect.DeepEqual(def, cur) {
				t.Fatalf("without branch the list is %v, want branch=current's %v", treeIDs(def), treeIDs(cur))
			}
			all := treeList(t, viewer, sid, "all")
			treeExpectBranch(t, "branch=all", all, treeIDsOf(a, b, c, b2, d)...)
			for _, msgs := range [][]map[string]any{cur, all} {
				treeExpectSiblings(t, msgs, treeID(a), treeID(a))
				treeExpectSiblings(t, msgs, treeID(b2), treeID(b), treeID(b2))
				treeExpectSiblings(t, msgs, treeID(d), treeID(d))
			}
			treeExpectSiblings(t, all, treeID(b), treeID(b), treeID(b2))
			treeExpectSiblings(t, all, treeID(c), treeID(c))
			if n := treeCount(t, owner, sid); n != 5 {
				t.Fatalf("message_count = %d, want 5: every branch", n)
			}

			// Pagination and order apply to the branch.
			base := "/api/v1/chat/sessions/" + sid + "/messages"
			e2ePage(t, e2eList(t, viewer, base+"?branch=current&page_size=2"), "messages", 1, 2, 3, true, treeIDsOf(a, b2)...)
			e2ePage(t, e2eList(t, viewer, base+"?branch=current&page_size=2&page=2"), "messages", 2, 2, 3, false, treeIDsOf(d)...)
			e2ePage(t, e2eList(t, viewer, base+"?branch=current&page_size=2&page=3"), "messages", 3, 2, 3, false)
			e2ePage(t, e2eList(t, viewer, base+"?branch=current&order=desc"), "messages", 1, 20, 3, false, treeIDsOf(d, b2, a)...)
			e2ePage(t, e2eList(t, viewer, base+"?branch=all&page_size=2&page=2"), "messages", 2, 2, 5, true, treeIDsOf(c, b2)...)
			e2ePage(t, e2eList(t, viewer, base+"?branch=all&order=desc&page_size=2"), "messages", 1, 2, 5, true, treeIDsOf(d, b2)...)

			for _, bad := range []string{"everything", "Current", "ALL", "", "current,all"} {
				p := viewer.Do("GET", base+"?branch="+bad, nil).Problem(http.StatusBadRequest)
				if !strings.Contains(p.Detail+fmt.Sprint(p.Errors), "branch") {
					t.Fatalf("branch=%q: problem %+v does not name the parameter", bad, p)
				}
			}
		})
	})
}
