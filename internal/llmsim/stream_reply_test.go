package llmsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestStreamWireFormatIsExact(t *testing.T) {
	h := newHarness(t, fast)
	resp, events, err := h.stream(t, chatBody("sim-small+tokens=2", "Hello world", true, true))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	if len(events) == 0 {
		t.Fatal("no events")
	}
	first, err := decodeChunk(events[0].data)
	if err != nil {
		t.Fatal(err)
	}
	head := fmt.Sprintf(`{"id":%q,"object":"chat.completion.chunk","created":%d,"model":"sim-small+tokens=2","choices":[`, first.ID, first.Created)
	want := []string{
		head + `{"index":0,"delta":{"role":"assistant","content":"You "},"finish_reason":null}]}`,
		head + `{"index":0,"delta":{"content":"wrote"},"finish_reason":null}]}`,
		head + `{"index":0,"delta":{},"finish_reason":"stop"}]}`,
		head + `],"usage":{"prompt_tokens":4,"completion_tokens":2,"total_tokens":6}}`,
		`[DONE]`,
	}
	if len(events) != len(want) {
		t.Fatalf("got %d events, want %d: %+v", len(events), len(want), events)
	}
	for i, w := range want {
		if events[i].data != w {
			t.Errorf("event %d:\n got %s\nwant %s", i, events[i].data, w)
		}
	}
	if !strings.HasPrefix(first.ID, "chatcmpl-") || first.Created == 0 {
		t.Errorf("id %q created %d", first.ID, first.Created)
	}
}

func TestStreamCarriesTheExpectedReply(t *testing.T) {
	h := newHarness(t, Options{ReplyTokens: 25})
	user := "Tell me, in a few words, what chatd does for a living today"
	_, events, err := h.stream(t, chatBody("sim-small", user, true, false))
	if err != nil {
		t.Fatal(err)
	}
	s, err := summarize(events)
	if err != nil {
		t.Fatal(err)
	}
	if s.content != ExpectedReply(user, 25) || s.tokens != 25 {
		t.Fatalf("content %q (%d tokens), want %q", s.content, s.tokens, ExpectedReply(user, 25))
	}
	if !s.done || s.usage != 0 || len(s.finish) != 1 || s.finish[0] != "stop" {
		t.Fatalf("ending %+v: want one stop, no usage without include_usage, [DONE]", s)
	}
	for _, ev := range events[:len(events)-1] {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(ev.data), &raw); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"id", "object", "created", "model", "choices"} {
			if _, ok := raw[k]; !ok {
				t.Fatalf("chunk without %q: %s", k, ev.data)
			}
		}
	}
}

func TestStreamUsageChunkCountsReasoning(t *testing.T) {
	h := newHarness(t, fast)
	_, events, err := h.stream(t, chatBody("sim-small+tokens=4+reasoning", "one two three", true, true))
	if err != nil {
		t.Fatal(err)
	}
	last, err := decodeChunk(events[len(events)-2].data)
	if err != nil {
		t.Fatal(err)
	}
	if len(last.Choices) != 0 || last.Usage == nil {
		t.Fatalf("usage chunk %s", events[len(events)-2].data)
	}
	u := last.Usage
	wantCompletion := 4 + len(ReasoningChunks())
	if u.PromptTokens != 5 || u.CompletionTokens != wantCompletion || u.TotalTokens != 5+wantCompletion {
		t.Fatalf("usage %+v, want prompt 5 completion %d", *u, wantCompletion)
	}
}

func TestStreamReasoningComesFirst(t *testing.T) {
	for _, tc := range []struct{ model, field string }{
		{"sim-small+reasoning", ReasoningField},
		{"sim-small+reasoning_field=reasoning_content", ReasoningContentField},
	} {
		t.Run(tc.field, func(t *testing.T) {
			h := newHarness(t, fast)
			_, events, err := h.stream(t, chatBody(tc.model, "hi", true, false))
			if err != nil {
				t.Fatal(err)
			}
			s, err := summarize(events)
			if err != nil {
				t.Fatal(err)
			}
			got, other := s.reasoning, s.reasoningContent
			if tc.field == ReasoningContentField {
				got, other = other, got
			}
			if got != ExpectedReasoning() || other != "" || s.content != ExpectedReply("hi", 6) {
				t.Fatalf("reasoning %q, other field %q, content %q", got, other, s.content)
			}
			first, _ := decodeChunk(events[0].data)
			d := first.Choices[0].Delta
			if d.Role == nil || *d.Role != "assistant" || d.Content != nil {
				t.Fatalf("first chunk %s: want the role and reasoning only", events[0].data)
			}
		})
	}
}

func TestStreamMaxTokensEndsWithLength(t *testing.T) {
	h := newHarness(t, Options{ReplyTokens: 10})
	body := strings.Replace(chatBody("sim-small", "hi", true, false), `"stream":true`, `"stream":true,"max_tokens":3`, 1)
	_, events, err := h.stream(t, body)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := summarize(events)
	want := strings.Join(ReplyTokens("hi", 10)[:3], "")
	if s.content != want || len(s.finish) != 1 || s.finish[0] != "length" || !s.done {
		t.Fatalf("got %+v, want %q then length", s, want)
	}
}

func TestStreamEmptyReply(t *testing.T) {
	h := newHarness(t, fast)
	_, events, err := h.stream(t, chatBody("sim-small+tokens=0", "hi", true, false))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := summarize(events)
	if s.content != "" || len(s.finish) != 1 || !s.done {
		t.Fatalf("got %+v", s)
	}
}

func TestStreamKeepAliveCommentsBeforeFirstToken(t *testing.T) {
	h := newHarness(t, Options{ReplyTokens: 2, TimeToFirstToken: 200 * ms, KeepAlive: 40 * ms})
	_, events, err := h.stream(t, chatBody("sim-small", "hi", true, false))
	if err != nil {
		t.Fatal(err)
	}
	comments := 0
	for _, ev := range events {
		if ev.data != "" {
			break
		}
		if ev.comment != "OPENROUTER PROCESSING" {
			t.Fatalf("comment %q", ev.comment)
		}
		comments++
	}
	if comments < 2 {
		t.Fatalf("%d keep-alive comments before the first token, want several", comments)
	}
	if s, _ := summarize(events); s.content != ExpectedReply("hi", 2) || !s.done {
		t.Fatalf("got %+v", s)
	}
}
