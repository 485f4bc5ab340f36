package telemetry

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/chatd/chatd/internal/llmsim"
	"github.com/chatd/chatd/test/harness"
)

const (
	postRoute = "/api/v1/chat/sessions/:session_id/messages"
	model     = "sim-otel"
	// The usage the scripted upstream reports.
	promptTokens, completionTokens = 17, 5
)

// secrets are what a user typed or was given, unique to one run: none may
// reach a span.
type secrets struct {
	email, password, question, answer string
	answerParts                       []string
}

func newSecrets() secrets {
	stamp := time.Now().UnixNano()
	s := secrets{
		email:       fmt.Sprintf("otel-%d@example.com", stamp),
		password:    fmt.Sprintf("otel-password-%d", stamp),
		question:    fmt.Sprintf("otel-question-%d: is this text in a span?", stamp),
		answerParts: []string{"otel-answer-", fmt.Sprint(stamp), ", never in a span"},
	}
	s.answer = strings.Join(s.answerParts, "")
	return s
}

// scriptedUpstream answers every reply with the secret answer and the usage
// above (and a session title, should one be asked for).
func scriptedUpstream(t *testing.T, s secrets) *harness.Upstream {
	up := harness.StartUpstream(t, llmsim.Options{})
	up.Script(func(req llmsim.Request, w *llmsim.StreamWriter) {
		if !req.Stream {
			harness.WriteReply(req, w, 3)
			return
		}
		for _, part := range s.answerParts {
			w.Chunk(part)
		}
		w.Finish("stop")
		w.Usage(promptTokens, completionTokens)
		w.Done()
	})
	return up
}

// chat registers, opens a session and sends the question, waiting for the
// whole reply; it returns the session id.
func chat(t *testing.T, c *client, s secrets) string {
	t.Helper()
	c.register(s.email, s.password)
	var session struct {
		ID string `json:"id"`
	}
	c.call(http.MethodPost, "/api/v1/chat/sessions",
		map[string]any{"title": "traced", "llm_provider": "LOCAL", "llm_model": model}, http.StatusCreated, &session)
	var sent struct {
		Reply struct {
			Content string `json:"content"`
			Status  string `json:"status"`
		} `json:"assistant_message"`
	}
	c.call(http.MethodPost, "/api/v1/chat/sessions/"+session.ID+"/messages?wait=true",
		map[string]any{"content": s.question}, http.StatusOK, &sent)
	if sent.Reply.Status != "completed" || sent.Reply.Content != s.answer {
		t.Fatalf("reply %s %q, want completed %q", sent.Reply.Status, sent.Reply.Content, s.answer)
	}
	return session.ID
}

// TestTraceOfAReply follows one reply from the request through the
// generation to the provider call, over OTLP from the real binary.
func TestTraceOfAReply(t *testing.T) {
	rcv := startReceiver(t)
	s := newSecrets()
	up := scriptedUpstream(t, s)
	p := startChatd(t, map[string]string{
		"CHAT_LOCAL_BASE_URL":         up.URL,
		"OTEL_EXPORTER_OTLP_ENDPOINT": rcv.URL,
		"OTEL_BSP_SCHEDULE_DELAY":     "50",
	})
	c := newClient(t, p)
	sessionID := chat(t, c, s)

	var post, gen, call span
	rcv.waitFor(t, "request → generation → provider call", func(spans []span) bool {
		var ok bool
		post, ok = find(spans, func(s span) bool { return s.Name == "POST "+postRoute })
		if !ok {
			return false
		}
		gen, ok = find(spans, func(s span) bool { return s.ParentID == post.SpanID && s.Name == "chat "+model })
		if !ok {
			return false
		}
		call, ok = find(spans, func(s span) bool { return s.ParentID == gen.SpanID })
		return ok
	})

	t.Run("request span", func(t *testing.T) {
		want := map[string]any{
			"http.request.method": "POST", "http.route": postRoute, "http.response.status_code": int64(http.StatusOK),
			"url.path": "/api/v1/chat/sessions/" + sessionID + "/messages", "url.scheme": "http",
		}
		expectSpan(t, post, tracepb.Span_SPAN_KIND_SERVER, want)
		if got := post.Resource["service.name"].GetStringValue(); got != "chatd" {
			t.Errorf("service.name %q, want chatd (the default)", got)
		}
	})
	t.Run("generation span", func(t *testing.T) {
		if gen.TraceID != post.TraceID {
			t.Fatalf("generation in trace %s, request in %s", gen.TraceID, post.TraceID)
		}
		expectSpan(t, gen, tracepb.Span_SPAN_KIND_CLIENT, map[string]any{
			"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
			"gen_ai.request.model": model, "gen_ai.response.model": model,
			"gen_ai.usage.input_tokens": int64(promptTokens), "gen_ai.usage.output_tokens": int64(completionTokens),
			"server.address": "127.0.0.1",
		})
		reasons := gen.Attrs["gen_ai.response.finish_reasons"].GetArrayValue().GetValues()
		if len(reasons) != 1 || reasons[0].GetStringValue() != "stop" {
			t.Errorf("gen_ai.response.finish_reasons %v, want [stop]", reasons)
		}
		ttfc, ok := gen.Attrs["gen_ai.response.time_to_first_chunk"].GetValue().(*commonpb.AnyValue_DoubleValue)
		if !ok || ttfc.DoubleValue <= 0 || ttfc.DoubleValue > 30 {
			t.Errorf("gen_ai.response.time_to_first_chunk %v, want seconds > 0", gen.Attrs["gen_ai.response.time_to_first_chunk"])
		}
	})
	t.Run("provider call span and traceparent", func(t *testing.T) {
		expectSpan(t, call, tracepb.Span_SPAN_KIND_CLIENT, map[string]any{
			"http.request.method": "POST", "http.response.status_code": int64(http.StatusOK),
		})
		if u := call.str("url.full"); !strings.HasSuffix(u, "/v1/chat/completions") {
			t.Errorf("url.full %q", u)
		}
		reqs := harness.Completions(up.Server, model, true)
		if len(reqs) != 1 {
			t.Fatalf("%d streamed requests upstream, want 1", len(reqs))
		}
		// 00-<trace id>-<parent id>-<flags>: the upstream's parent is the call span.
		parts := strings.Split(reqs[0].Header.Get("Traceparent"), "-")
		if len(parts) != 4 || parts[0] != "00" || parts[1] != post.TraceID || parts[2] != call.SpanID || parts[3] != "01" {
			t.Errorf("upstream traceparent %q, want 00-%s-%s-01", reqs[0].Header.Get("Traceparent"), post.TraceID, call.SpanID)
		}
	})
	t.Run("database spans", func(t *testing.T) {
		spans := rcv.all()
		var underRequest, direct int
		for _, s := range spans {
			if s.Attrs["db.system.name"] == nil {
				continue
			}
			if s.str("db.system.name") != "sqlite" || s.str("db.operation.name") == "" || s.Kind != tracepb.Span_SPAN_KIND_CLIENT {
				t.Errorf("database span %q: system %q, operation %q, kind %v", s.Name, s.str("db.system.name"),
					s.str("db.operation.name"), s.Kind)
			}
			if descends(spans, s, post) {
				underRequest++
			}
			if s.ParentID == post.SpanID {
				direct++
			}
		}
		if underRequest == 0 || direct == 0 {
			t.Errorf("%d database spans under the request, %d of them its children; want some", underRequest, direct)
		}
		if _, ok := find(spans, func(s span) bool {
			return s.ParentID == post.SpanID && s.str("db.operation.name") == "INSERT" && s.str("db.collection.name") == "chat_messages"
		}); !ok {
			t.Error("no INSERT chat_messages span under the request")
		}
	})
	t.Run("no user data in any span", func(t *testing.T) {
		forbidden := []string{s.question, s.answer, s.answerParts[1], s.email, s.password, c.token, "wait=true"}
		for _, sp := range rcv.all() {
			for _, text := range spanTexts(sp) {
				for _, f := range forbidden {
					if strings.Contains(text, f) {
						t.Errorf("span %q holds %q in %q", sp.Name, f, text)
					}
				}
			}
			for _, key := range []string{"db.query.text", "db.statement", "gen_ai.input.messages", "gen_ai.output.messages"} {
				if sp.Attrs[key] != nil {
					t.Errorf("span %q has %s", sp.Name, key)
				}
			}
		}
	})
	t.Run("access log carries the trace id", func(t *testing.T) {
		for _, line := range p.logLines(t) {
			if line["msg"] == "request" && line["route"] == postRoute {
				if line["trace_id"] != post.TraceID || line["span_id"] != post.SpanID {
					t.Errorf("access log trace_id %v span_id %v, want %s %s", line["trace_id"], line["span_id"], post.TraceID, post.SpanID)
				}
				return
			}
		}
		t.Error("no access log line for the post")
	})

	// A client's own trace is continued; refusals are traced; probes are not.
	traceID, parentID := randomHex(t, 16), randomHex(t, 8)
	c.call(http.MethodGet, "/api/v1/chat/sessions", nil, http.StatusOK, nil, "traceparent", "00-"+traceID+"-"+parentID+"-01")
	anonymous := newClient(t, p)
	anonymous.call(http.MethodGet, "/api/v1/auth/me", nil, http.StatusUnauthorized, nil)
	rcv.waitFor(t, "continued trace and 401", func(spans []span) bool {
		_, continued := find(spans, func(s span) bool {
			return s.Name == "GET /api/v1/chat/sessions" && s.TraceID == traceID && s.ParentID == parentID
		})
		_, refused := find(spans, func(s span) bool {
			return s.Name == "GET /api/v1/auth/me" && s.int("http.response.status_code") == http.StatusUnauthorized
		})
		return continued && refused
	})
	if health, ok := find(rcv.all(), func(s span) bool { return strings.Contains(s.Name, "/health") }); ok {
		t.Errorf("health probes are traced: %q", health.Name)
	}
	p.stop(t)
}

// TestTracingDisabled: OTEL_SDK_DISABLED wins over an endpoint; nothing is
// exported, no traceparent goes upstream and no log line has a trace id.
func TestTracingDisabled(t *testing.T) {
	rcv := startReceiver(t)
	s := newSecrets()
	up := scriptedUpstream(t, s)
	p := startChatd(t, map[string]string{
		"CHAT_LOCAL_BASE_URL":         up.URL,
		"OTEL_EXPORTER_OTLP_ENDPOINT": rcv.URL,
		"OTEL_BSP_SCHEDULE_DELAY":     "50",
		"OTEL_SDK_DISABLED":           "true",
	})
	chat(t, newClient(t, p), s)
	p.stop(t) // a running exporter would flush here

	if n := len(rcv.all()); n != 0 {
		t.Errorf("%d spans exported with OTEL_SDK_DISABLED=true", n)
	}
	for _, r := range harness.Completions(up.Server, model, true) {
		if tp := r.Header.Get("Traceparent"); tp != "" {
			t.Errorf("upstream got traceparent %q with tracing off", tp)
		}
	}
	for _, line := range p.logLines(t) {
		if line["trace_id"] != nil {
			t.Errorf("log line with a trace id while tracing is off: %v", line)
		}
	}
}

func find(spans []span, ok func(span) bool) (span, bool) {
	for _, s := range spans {
		if ok(s) {
			return s, true
		}
	}
	return span{}, false
}

// descends reports whether s is below ancestor in ancestor's trace.
func descends(spans []span, s, ancestor span) bool {
	byID := map[string]span{}
	for _, sp := range spans {
		if sp.TraceID == ancestor.TraceID {
			byID[sp.SpanID] = sp
		}
	}
	for hops := 0; s.TraceID == ancestor.TraceID && hops < len(spans); hops++ {
		if s.ParentID == ancestor.SpanID {
			return true
		}
		parent, ok := byID[s.ParentID]
		if !ok {
			return false
		}
		s = parent
	}
	return false
}

// expectSpan checks a span's kind and attributes (strings and integers).
func expectSpan(t *testing.T, s span, kind tracepb.Span_SpanKind, want map[string]any) {
	t.Helper()
	if s.Kind != kind {
		t.Errorf("span %q is %v, want %v", s.Name, s.Kind, kind)
	}
	for key, w := range want {
		var got any
		switch w.(type) {
		case string:
			got = s.str(key)
		case int64:
			got = s.int(key)
		}
		if got != w {
			t.Errorf("span %q: %s = %v, want %v", s.Name, key, got, w)
		}
	}
}

// spanTexts is every text a span carries: its name, attributes, events and
// their attributes, and its resource.
func spanTexts(s span) []string {
	texts := []string{s.Name}
	add := func(attrs map[string]*commonpb.AnyValue) {
		for k, v := range attrs {
			texts = append(texts, k+"="+v.String())
		}
	}
	add(s.Attrs)
	add(s.Resource)
	for _, e := range s.Events {
		texts = append(texts, e.GetName())
		add(attrMap(e.GetAttributes()))
	}
	return texts
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
