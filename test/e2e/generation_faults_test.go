package e2e

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/chatd/chatd/internal/llmsim"
	"github.com/chatd/chatd/test/harness"
)

// genFailed checks a reply that failed: stored failed (never left
// streaming), with a sentence for users (never the upstream's JSON body),
// the text before the failure, and its user message stored.
func genFailed(t testing.TB, c *harness.Client, sid string, user, reply map[string]any, content string) string {
	t.Helper()
	if reply["status"] != "failed" || reply["is_streaming"] != false || reply["content"] != content {
		t.Fatalf("reply = %v\nwant failed with content %q", reply, content)
	}
	msg := genStr(reply["error_message"])
	if msg == "" || strings.ContainsAny(msg, "{}") || strings.Contains(msg, `"error"`) {
		t.Fatalf("error_message = %q: want our own sentence, not the upstream's body", msg)
	}
	if meta := reply["message_metadata"].(map[string]any); meta["finish_reason"] != "error" {
		t.Fatalf("metadata of a failed reply = %v", meta)
	}
	if content != "" && reply["tokens_used"] == nil {
		t.Fatalf("a failed reply with text has no tokens_used: %v", reply)
	}
	if m := genMessage(t, c, sid, user["id"].(string)); m == nil || m["status"] != "completed" || m["content"] != user["content"] {
		t.Fatalf("user message of a failed reply = %v", m)
	}
	return msg
}

// genFaultRun is one reply of TestGenerationFaults: started together with
// the others, checked once it ended.
type genFaultRun struct {
	c           *harness.Client // bound to the subtest that checks it
	sid, model  string
	user, reply map[string]any   // the reply as stored at its end
	reqs        []llmsim.Request // the streamed upstream requests of its model
}

// genAs is a client of the same user bound to t.
func genAs(t testing.TB, srv *harness.Server, u *harness.Client) *harness.Client {
	c := srv.Client(t)
	c.Token, c.RefreshToken, c.UserID, c.Email = u.Token, u.RefreshToken, u.UserID, u.Email
	return c
}

func TestGenerationFaults(t *testing.T) {
	t.Parallel()
	harness.ForEachDialect(t, func(t *testing.T, d harness.Dialect) {
		t.Parallel()
		cfg := harness.DefaultConfig(t, d)
		cfg.LocalFirstTokenTimeout = 1500 * time.Millisecond
		cfg.LLMIdleTimeout = 700 * time.Millisecond
		sim := harness.WithUpstream(t, &cfg, llmsim.Options{})
		srv := harness.Start(t, cfg)

		backup, backup2 := genModel("tokens=4"), genModel("tokens=3")
		cases := []struct {
			name       string
			content    string
			directives []string
			settings   map[string]any
			check      func(t *testing.T, r *genFaultRun)
		}{
			{"500 before streaming, after retries", "will fail", []string{"fault=500"}, nil, func(t *testing.T, r *genFaultRun) {
				msg := genFailed(t, r.c, r.sid, r.user, r.reply, "")
				// The upstream's message ("llmsim: simulated failure") is not passed on for a 5xx.
				if msg != "the LOCAL model server failed to answer (HTTP 500)" || r.reply["tokens_used"] != nil {
					t.Fatalf("reply = %v", r.reply)
				}
				// Two retries before giving up: nothing had reached anyone.
				genOnly(t, r.reqs, 3, "a 500")

				// ?wait=true: 502 with the same sentence; the reply is stored failed.
				twin := genSession(t, r.c, map[string]any{"llm_model": r.model})
				p := r.c.Do("POST", "/api/v1/chat/sessions/"+twin+"/messages?wait=true", map[string]any{"content": "will fail"}).
					Problem(http.StatusBadGateway)
				if p.Detail != msg {
					t.Fatalf("wait=true problem = %+v, want detail %q", p, msg)
				}
				msgs := genMessages(t, r.c, twin)
				if len(msgs) != 2 || msgs[0]["status"] != "completed" || msgs[1]["status"] != "failed" || msgs[1]["error_message"] != msg {
					t.Fatalf("stored after a failed wait=true: %v", msgs)
				}
			}},
			{"error chunk mid-stream keeps the text", "break in the middle", []string{"tokens=10", "stall_after=4", "fault=error-chunk"}, nil, func(t *testing.T, r *genFaultRun) {
				msg := genFailed(t, r.c, r.sid, r.user, r.reply, genTokens("break in the middle", 10, 4))
				if !strings.HasPrefix(msg, "the LOCAL model server failed while answering") {
					t.Fatalf("error_message = %q", msg)
				}
				if meta := r.reply["message_metadata"].(map[string]any); meta["usage_estimated"] != true {
					t.Fatalf("usage of an unfinished reply is not marked estimated: %v", meta)
				}
				// No silent retry once text reached anyone.
				genOnly(t, r.reqs, 1, "an error chunk")

				// Over SSE: the deltas, then message.failed with the same text and sentence.
				twin := genSession(t, r.c, map[string]any{"llm_model": r.model})
				s := r.c.PostSSE("/api/v1/chat/sessions/"+twin+"/messages", map[string]any{"content": "break in the middle"})
				events := s.All()
				if len(events) != 2+4+1 || events[len(events)-1].Event != "message.failed" {
					t.Fatalf("SSE events %v", genEventTypes(events))
				}
				last := genJSON(t, events[len(events)-1].Frame(t).Data)
				if last["status"] != "failed" || last["content"] != r.reply["content"] || last["error_message"] != msg {
					t.Fatalf("message.failed = %v", last)
				}
			}},
			{"EOF without [DONE] keeps the text", "cut me off", []string{"tokens=10", "stall_after=3", "fault=eof"}, nil, func(t *testing.T, r *genFaultRun) {
				msg := genFailed(t, r.c, r.sid, r.user, r.reply, genTokens("cut me off", 10, 3))
				if msg != "the provider ended the reply before it was finished" {
					t.Fatalf("error_message = %q", msg)
				}
				genOnly(t, r.reqs, 1, "an EOF")
			}},
			{"reset mid-stream", "reset me", []string{"tokens=10", "stall_after=3", "fault=reset"}, nil, func(t *testing.T, r *genFaultRun) {
				// The reset may drop bytes the kernel had not handed over yet.
				content := genStr(r.reply["content"])
				if !strings.HasPrefix(genTokens("reset me", 10, 3), content) {
					t.Fatalf("content %q", content)
				}
				msg := genFailed(t, r.c, r.sid, r.user, r.reply, content)
				if !strings.Contains(msg, "the connection to the LOCAL model server broke") {
					t.Fatalf("error_message = %q", msg)
				}
				// A retry is allowed only while nothing reached anyone; text ends the retries.
				if n := len(r.reqs); n < 1 || n > 3 || (content == "" && n != 3) {
					t.Fatalf("%d requests for a reset reply with text %q", n, content)
				}
			}},
			{"reset before the first token is retried", "reset at once", []string{"tokens=10", "stall_after=0", "fault=reset"}, nil, func(t *testing.T, r *genFaultRun) {
				genFailed(t, r.c, r.sid, r.user, r.reply, "")
				genOnly(t, r.reqs, 3, "a reset before any text")
			}},
			{"stall mid-stream ends at the idle timeout", "then silence", []string{"tokens=10", "stall_after=3", "fault=stall"}, nil, func(t *testing.T, r *genFaultRun) {
				if msg := genFailed(t, r.c, r.sid, r.user, r.reply, genTokens("then silence", 10, 3)); msg != "the model stopped sending for 700ms" {
					t.Fatalf("error_message = %q", msg)
				}
				genOnly(t, r.reqs, 1, "a stall")
			}},
			{"first token later than the timeout", "too slow", []string{"tokens=5", "ttft=10s"}, nil, func(t *testing.T, r *genFaultRun) {
				if msg := genFailed(t, r.c, r.sid, r.user, r.reply, ""); msg != "the model did not start answering within 1.5s" {
					t.Fatalf("error_message = %q", msg)
				}
				if ms := genNum(t, "response_time_ms", r.reply["response_time_ms"]); ms < 1400 || ms > 8000 {
					t.Fatalf("response_time_ms = %d for a 1.5s first-token timeout", ms)
				}
				genOnly(t, r.reqs, 1, "a slow first token")
			}},
			{"keep-alive comments while waiting", "take your time", []string{"tokens=5", "ttft=400ms", "keepalive=50ms"}, nil, func(t *testing.T, r *genFaultRun) {
				genCheckCompleted(t, r.reply, llmsim.ExpectedReply("take your time", 5), genOnly(t, r.reqs, 1, "keep-alive")[0], 5)
			}},
			{"keep-alive comments are not a first token", "only comments", []string{"tokens=5", "ttft=10s", "keepalive=50ms"}, nil, func(t *testing.T, r *genFaultRun) {
				if msg := genFailed(t, r.c, r.sid, r.user, r.reply, ""); msg != "the model did not start answering within 1.5s" {
					t.Fatalf("error_message = %q", msg)
				}
			}},
			{"unknown model without fallback", "who?", []string{"fault=404"}, nil, func(t *testing.T, r *genFaultRun) {
				if msg := genFailed(t, r.c, r.sid, r.user, r.reply, ""); !strings.Contains(msg, "does not offer the model") {
					t.Fatalf("error_message = %q", msg)
				}
				genOnly(t, r.reqs, 1, "a 404")
			}},
			{"fallback model serves", "primary is missing", []string{"fault=404"}, map[string]any{"fallback_models": []string{backup}}, func(t *testing.T, r *genFaultRun) {
				genOnly(t, r.reqs, 1, "the missing primary")
				served := genOnly(t, harness.Completions(sim, genBase(backup), true), 1, "the fallback")[0]
				genCheckCompleted(t, r.reply, llmsim.ExpectedReply("primary is missing", 4), served, 4)
				if r.reply["llm_model"] != backup || r.reply["message_metadata"].(map[string]any)["model"] != backup {
					t.Fatalf("reply served by %s says llm_model %v, metadata %v", backup, r.reply["llm_model"], r.reply["message_metadata"])
				}
				if !reflect.DeepEqual(served.Messages, r.reqs[0].Messages) {
					t.Fatalf("fallback request differs: %q vs %q", genPrompt(served), genPrompt(r.reqs[0]))
				}
			}},
			{"fallback after a primary that keeps failing", "primary is down", []string{"fault=502"}, map[string]any{"fallback_models": []string{backup2}}, func(t *testing.T, r *genFaultRun) {
				// 5xx is retried on the primary first, then the fallback serves.
				genOnly(t, r.reqs, 3, "the failing primary")
				served := genOnly(t, harness.Completions(sim, genBase(backup2), true), 1, "the fallback")[0]
				genCheckCompleted(t, r.reply, llmsim.ExpectedReply("primary is down", 3), served, 3)
				if r.reply["llm_model"] != backup2 {
					t.Fatalf("reply = %v", r.reply)
				}
			}},
		}

		// Start every reply, then check each as it ends: they run side by side.
		runs := make([]*genFaultRun, len(cases))
		for i, fc := range cases {
			c := srv.NewUser(t)
			model := genModel(fc.directives...)
			body := map[string]any{"llm_model": model}
			if fc.settings != nil {
				body["settings"] = fc.settings
			}
			sid := genSession(t, c, body)
			user, placeholder := genSend(t, c, sid, fc.content, nil)
			runs[i] = &genFaultRun{c: c, sid: sid, model: model, user: user, reply: placeholder}
		}
		for i, fc := range cases {
			t.Run(fc.name, func(t *testing.T) {
				r := runs[i]
				r.c = genAs(t, srv, r.c)
				r.reply = genAwait(t, r.c, r.sid, r.reply["id"].(string))
				genFailedOrDone(t, r.reply)
				r.reqs = harness.Completions(sim, genBase(r.model), true)
				fc.check(t, r)
			})
		}

		// Every session here is LOCAL, for which no key is configured: no
		// request carried one (the OpenRouter key lives on the same server).
		for _, r := range sim.Requests() {
			if got := r.Header.Get("Authorization"); got != "" {
				t.Fatalf("a LOCAL request for %q carried Authorization %q", r.Model, got)
			}
		}
	})
}

// genFailedOrDone checks that a reply ended (it is never left streaming).
func genFailedOrDone(t testing.TB, reply map[string]any) {
	t.Helper()
	if s, _ := reply["status"].(string); s != "failed" && s != "completed" {
		t.Fatalf("reply ended %v", reply)
	}
}

// TestGenerationScripted uses llmsim scripts: one behaviour for the whole
// simulator at a time, so its subtests run one after the other.
func TestGenerationScripted(t *testing.T) {
	t.Parallel()
	harness.ForEachDialect(t, func(t *testing.T, d harness.Dialect) {
		t.Parallel()
		cfg := harness.DefaultConfig(t, d)
		sim := harness.WithUpstream(t, &cfg, llmsim.Options{})
		srv := harness.Start(t, cfg)

		t.Run("429 then success", func(t *testing.T) {
			defer sim.Script(nil)
			var calls atomic.Int32
			sim.Script(func(req llmsim.Request, w *llmsim.StreamWriter) {
				if calls.Add(1) == 1 {
					w.Header().Set("Retry-After", "1")
					w.Status(http.StatusTooManyRequests, `{"error":{"message":"slow down","type":"rate_limit_error"}}`)
					return
				}
				harness.WriteReply(req, w, 5)
			})
			c := srv.NewUser(t)
			model := genModel()
			sid := genSession(t, c, map[string]any{"llm_model": model})
			_, reply := genReply(t, c, sid, "patience", nil)
			reqs := genOnly(t, harness.Completions(sim, genBase(model), true), 2, "a 429 and its retry")
			genCheckCompleted(t, reply, llmsim.ExpectedReply("patience", 5), reqs[1], 5)
			if gap := reqs[1].Received.Sub(reqs[0].Received); gap < 900*time.Millisecond {
				t.Fatalf("retried %v after a 429 with Retry-After: 1", gap)
			}
		})

		t.Run("a sloppy but valid wire", func(t *testing.T) {
			defer sim.Script(nil)
			long := strings.Repeat("0123456789abcdef", 100<<10/16) // one chunk of 100 KiB
			sim.Script(func(req llmsim.Request, w *llmsim.StreamWriter) {
				w.Comment("OPENROUTER PROCESSING")
				w.Chunk("Hello")
				// No space after "data:", CRLF line endings.
				w.Raw(`data:{"id":"x","object":"chat.completion.chunk","created":1,"model":"` + req.Model +
					`","choices":[{"index":0,"delta":{"content":", wor"},"finish_reason":null}]}` + "\r\n\r\n")
				w.Chunk("ld\x00!") // storage refuses NUL: that byte is dropped
				w.Chunk(long)
				w.Finish("stop")
				w.Usage(3, 4)
				w.Done()
			})
			c := srv.NewUser(t)
			sid := genSession(t, c, map[string]any{"llm_model": genModel()})
			s := c.PostSSE("/api/v1/chat/sessions/"+sid+"/messages", map[string]any{"content": "anything"})
			var deltas strings.Builder
			events := s.All()
			for _, e := range events {
				if e.Event == "message.delta" {
					deltas.WriteString(genStr(genJSON(t, e.Frame(t).Data)["delta"]))
				}
			}
			want := "Hello, world!" + long
			if len(events) == 0 || events[len(events)-1].Event != "message.completed" || deltas.String() != want {
				t.Fatalf("events %v; deltas %d bytes, want %d", genEventTypes(events), deltas.Len(), len(want))
			}
			var reply map[string]any
			for _, m := range genMessages(t, c, sid) {
				if m["role"] == "assistant" {
					reply = m
				}
			}
			if reply["status"] != "completed" || reply["content"] != want || genNum(t, "tokens_used", reply["tokens_used"]) != 7 {
				t.Fatalf("reply: status %v, %d bytes of content, tokens_used %v", reply["status"], len(genStr(reply["content"])), reply["tokens_used"])
			}
		})

		t.Run("a failing title call leaves the title empty", func(t *testing.T) {
			defer sim.Script(nil)
			sim.Script(func(req llmsim.Request, w *llmsim.StreamWriter) {
				if !req.Stream {
					w.Status(http.StatusInternalServerError, `{"error":{"message":"namer broke","type":"server_error"}}`)
					return
				}
				harness.WriteReply(req, w, 6)
			})
			c := srv.NewUser(t)
			model := genModel()
			sid := genSession(t, c, map[string]any{"llm_model": model, "title": nil})
			_, reply := genReply(t, c, sid, "name this chat", nil)
			if reply["status"] != "completed" || reply["content"] != llmsim.ExpectedReply("name this chat", 6) {
				t.Fatalf("reply = %v", reply)
			}
			// The namer is tried (with retries), then given up on.
			deadline := time.Now().Add(10 * time.Second)
			for len(harness.Completions(sim, genBase(model), false)) < 3 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			genOnly(t, harness.Completions(sim, genBase(model), false), 3, "title requests")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := sim.WaitIdle(ctx); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
			s := genGetSession(t, c, sid)
			if s["title"] != "" || s["message_count"] != float64(2) {
				t.Fatalf("session after a failed title call = %v", s)
			}
			if m := genMessage(t, c, sid, reply["id"].(string)); !reflect.DeepEqual(m, reply) {
				t.Fatalf("the failed title call changed the reply:\n%v\n%v", m, reply)
			}
		})
	})
}

// genDeltas reads a turn's SSE stream until n deltas of the reply arrived;
// it returns the reply id and their text.
func genDeltas(t testing.TB, s *harness.SSE, n int) (replyID string, text string) {
	t.Helper()
	if !s.IsStream() {
		t.Fatalf("SSE post: status %d, body %.400s", s.Status, s.Body)
	}
	var b strings.Builder
	for seen := 0; seen < n; {
		e, ok := s.Next()
		if !ok {
			t.Fatalf("the stream ended after %d deltas", seen)
		}
		f := e.Frame(t)
		data := genJSON(t, f.Data)
		switch f.Type {
		case "message.created":
			if data["role"] == "assistant" {
				replyID = data["id"].(string)
			}
		case "message.delta":
			b.WriteString(data["delta"].(string))
			seen++
		default:
			t.Fatalf("unexpected %s event before %d deltas: %v", f.Type, n, data)
		}
	}
	return replyID, b.String()
}

func TestGenerationCancelAndFlush(t *testing.T) {
	t.Parallel()
	harness.ForEachDialect(t, func(t *testing.T, d harness.Dialect) {
		t.Parallel()
		cfg := harness.DefaultConfig(t, d)
		sim := harness.WithUpstream(t, &cfg, llmsim.Options{})
		srv := harness.Start(t, cfg)

		t.Run("cancel mid-stream", func(t *testing.T) {
			owner, viewer, stranger := srv.NewUser(t), srv.NewUser(t), srv.NewUser(t)
			model := genModel("tokens=400", "tps=20")
			sid := genSession(t, owner, map[string]any{"llm_model": model})
			owner.Do("POST", "/api/v1/chat/sessions/"+sid+"/participants",
				map[string]any{"user_id": viewer.UserID, "role": "viewer"}).Expect(http.StatusCreated)
			content := "Tell me a very long story"
			s := owner.PostSSE("/api/v1/chat/sessions/"+sid+"/messages", map[string]any{"content": content})
			replyID, before := genDeltas(t, s, 3)
			cancelled := sim.Cancelled()
			path := "/api/v1/chat/messages/" + replyID + "/cancel"

			// A viewer may not stop it; a stranger does not see it.
			viewer.Do("POST", path, nil).Problem(http.StatusForbidden)
			stranger.Do("POST", path, nil).Problem(http.StatusNotFound)

			at := time.Now()
			got := owner.Do("POST", path, nil).Expect(http.StatusOK).Map()
			text := genStr(got["content"])
			if got["id"] != replyID || got["status"] != "cancelled" || got["is_streaming"] != false || text == "" ||
				!strings.HasPrefix(llmsim.ExpectedReply(content, 400), text) {
				t.Fatalf("cancel answered %v", got)
			}
			if meta := got["message_metadata"].(map[string]any); meta["finish_reason"] != "cancelled" {
				t.Fatalf("metadata of a cancelled reply = %v", meta)
			}
			// The upstream request was closed.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := sim.WaitCancelled(ctx, cancelled+1); err != nil {
				t.Fatalf("the upstream request was still open %v after the cancel: %v", time.Since(at), err)
			}
			// The stream got every delta of the stored text, then message.cancelled.
			var rest strings.Builder
			events := s.All()
			if len(events) == 0 {
				t.Fatal("the stream ended without message.cancelled")
			}
			for _, e := range events[:len(events)-1] {
				if e.Event != "message.delta" {
					t.Fatalf("event %s before the end", e.Event)
				}
				rest.WriteString(genStr(genJSON(t, e.Frame(t).Data)["delta"]))
			}
			last := genJSON(t, events[len(events)-1].Frame(t).Data)
			if events[len(events)-1].Event != "message.cancelled" || last["content"] != text || last["status"] != "cancelled" {
				t.Fatalf("last event %s %v; cancel answered %q", events[len(events)-1].Event, last, text)
			}
			if before+rest.String() != text {
				t.Fatalf("the deltas say %q, the cancelled reply %q", before+rest.String(), text)
			}
			stored := genMessage(t, owner, sid, replyID)
			if !reflect.DeepEqual(stored, got) {
				t.Fatalf("stored\n%v\ncancel answered\n%v", stored, got)
			}

			// Cancelling again answers the same; a viewer is still refused.
			if again := owner.Do("POST", path, nil).Expect(http.StatusOK).Map(); !reflect.DeepEqual(again, got) {
				t.Fatalf("second cancel\n%v\nfirst\n%v", again, got)
			}
			viewer.Do("POST", path, nil).Problem(http.StatusForbidden)

			// A finished reply, or a user message, cannot be cancelled.
			quick := genModel("tokens=3")
			qs := genSession(t, owner, map[string]any{"llm_model": quick})
			user, done := genReply(t, owner, qs, "quick one", nil)
			owner.Do("POST", "/api/v1/chat/messages/"+done["id"].(string)+"/cancel", nil).Problem(http.StatusConflict)
			owner.Do("POST", "/api/v1/chat/messages/"+user["id"].(string)+"/cancel", nil).Problem(http.StatusConflict)
			owner.Do("POST", "/api/v1/chat/messages/"+genRandomID()+"/cancel", nil).Problem(http.StatusNotFound)
		})

		t.Run("a member cancels before the first token", func(t *testing.T) {
			c, member := srv.NewUser(t), srv.NewUser(t)
			sid := genSession(t, c, map[string]any{"llm_model": genModel("ttft=20s")})
			c.Do("POST", "/api/v1/chat/sessions/"+sid+"/participants",
				map[string]any{"user_id": member.UserID, "role": "member"}).Expect(http.StatusCreated)
			cancelled := sim.Cancelled()
			_, placeholder := genSend(t, c, sid, "never mind", nil)
			// Wait until the request reached the simulator, so the cancel closes it.
			deadline := time.Now().Add(5 * time.Second)
			for sim.Active() == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			got := member.Do("POST", "/api/v1/chat/messages/"+placeholder["id"].(string)+"/cancel", nil).Expect(http.StatusOK).Map()
			if got["status"] != "cancelled" || got["content"] != "" {
				t.Fatalf("cancel answered %v", got)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := sim.WaitCancelled(ctx, cancelled+1); err != nil {
				t.Fatalf("the upstream request was not closed: %v", err)
			}
		})

		t.Run("the text so far is stored every second", func(t *testing.T) {
			c := srv.NewUser(t)
			content := "Write slowly"
			sid := genSession(t, c, map[string]any{"llm_model": genModel("tokens=32", "tps=10")})
			_, placeholder := genSend(t, c, sid, content, nil)
			want := llmsim.ExpectedReply(content, 32)
			type seen struct {
				at      time.Time
				content string
			}
			var changes []seen // stored content while streaming, each time it changed
			last := ""
			var final map[string]any
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				m := genMessage(t, c, sid, placeholder["id"].(string))
				text := genStr(m["content"])
				if !strings.HasPrefix(want, text) || len(text) < len(last) {
					t.Fatalf("stored content %q is not a growing prefix of %q (was %q)", text, want, last)
				}
				if genFinal[m["status"].(string)] {
					final = m
					break
				}
				if m["status"] == "streaming" && m["is_streaming"] != true {
					t.Fatalf("streaming reply with is_streaming %v", m["is_streaming"])
				}
				if text != last {
					if m["status"] != "streaming" {
						t.Fatalf("reply with text %q is %v", text, m["status"])
					}
					changes = append(changes, seen{time.Now(), text})
					last = text
				}
			}
			if final == nil || final["status"] != "completed" || final["content"] != want {
				t.Fatalf("reply = %v", final)
			}
			// About 3.2s of streaming: the stored text moved at least twice,
			// never more than ~1s apart (2s allowed for a loaded machine).
			if len(changes) < 2 {
				t.Fatalf("the stored text changed %d times during a 3s reply: %v", len(changes), changes)
			}
			for i := 1; i < len(changes); i++ {
				if gap := changes[i].at.Sub(changes[i-1].at); gap > 2*time.Second {
					t.Fatalf("the stored text did not change for %v while streaming", gap)
				}
			}
		})
	})
}

// TestGenerationLeaks runs a cancelled, a failed and a completed reply (with
// its title), stops everything, and expects none of our goroutines left.
func TestGenerationLeaks(t *testing.T) {
	harness.ForEachDialect(t, func(t *testing.T, d harness.Dialect) {
		cfg := harness.DefaultConfig(t, d) // the PostgreSQL admin connection lives until the test ends
		cfg.ShutdownTimeout = 300 * time.Millisecond
		ignore := goleak.IgnoreCurrent()
		up := harness.StartUpstream(t, llmsim.Options{})
		cfg.LocalBaseURL = up.URL
		srv := harness.Start(t, cfg)
		c := srv.NewUser(t)

		slow := genSession(t, c, map[string]any{"llm_model": genModel("tokens=400", "tps=20")})
		s := c.PostSSE("/api/v1/chat/sessions/"+slow+"/messages", map[string]any{"content": "long"})
		replyID, _ := genDeltas(t, s, 2)
		c.Do("POST", "/api/v1/chat/messages/"+replyID+"/cancel", nil).Expect(http.StatusOK)
		s.All()

		failing := genSession(t, c, map[string]any{"llm_model": genModel("tokens=10", "stall_after=2", "fault=eof")})
		if _, r := genReply(t, c, failing, "break", nil); r["status"] != "failed" {
			t.Fatalf("reply = %v", r)
		}
		stalled := genSession(t, c, map[string]any{"llm_model": genModel("tokens=10", "stall_after=2", "fault=stall")})
		_, stalledReply := genSend(t, c, stalled, "hang", nil)
		untitled := genSession(t, c, map[string]any{"llm_model": genModel("tokens=4"), "title": nil})
		genReply(t, c, untitled, "name me", nil)
		genAwaitTitle(t, c, untitled)

		// The stalled reply is still generating: the stop drains, then interrupts it.
		srv.Stop(t)
		up.Close()
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		goleak.VerifyNone(t, ignore)
		_ = stalledReply
	})
}
