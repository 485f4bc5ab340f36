package llmsim

import (
	"strings"
	"testing"
	"time"
)

func TestParseModel(t *testing.T) {
	base := Options{ReplyTokens: 20, TokensPerSecond: 30, TimeToFirstToken: time.Second}
	for _, tc := range []struct {
		model string
		name  string
		want  Options
	}{
		{"sim-small", "sim-small", base},
		{"vendor/model:tag", "vendor/model:tag", base},
		{"sim-small+", "sim-small", base},
		{"sim-small+tokens=50+ttft=100ms+tps=200+stall_after=3+reasoning+fault=eof+keepalive=1s", "sim-small", Options{
			ReplyTokens: 50, TimeToFirstToken: 100 * ms, TokensPerSecond: 200, StallAfter: 3,
			Reasoning: true, Fault: FaultEOF, KeepAlive: time.Second,
		}},
		{"m+tokens=0+stall_after=0+tps=0+ttft=0", "m", Options{ReplyTokens: -1, StallAfter: -1}},
		{"m+TPS=2.5+Stall-After=1+fault=ERROR-CHUNK", "m", Options{ReplyTokens: 20, TimeToFirstToken: time.Second, TokensPerSecond: 2.5, StallAfter: 1, Fault: FaultErrorChunk}},
		{"m+fault=502+reasoning=false", "m", Options{ReplyTokens: 20, TokensPerSecond: 30, TimeToFirstToken: time.Second, Fault: "502"}},
		{"m+reasoning_field=reasoning_content", "m", Options{ReplyTokens: 20, TokensPerSecond: 30, TimeToFirstToken: time.Second, Reasoning: true, ReasoningField: ReasoningContentField}},
		{"m+fault=none", "m", base},
	} {
		name, got, err := ParseModel(tc.model, base)
		if err != nil || name != tc.name || got != tc.want {
			t.Errorf("%s: got %q %+v %v\nwant %q %+v", tc.model, name, got, err, tc.name, tc.want)
		}
	}
}

func TestParseModelRefusesMistakes(t *testing.T) {
	for _, model := range []string{
		"m+token=5", "m+tokens", "m+tokens=-1", "m+tokens=x", "m+ttft=5", "m+ttft=-1s", "m+tps=-1",
		"m+fault=boom", "m+fault=200", "m+fault=600", "m+reasoning=maybe", "m+reasoning_field=thoughts",
		"m+stall_after=1.5", "m+keepalive",
	} {
		if _, _, err := ParseModel(model, Options{}); err == nil {
			t.Errorf("%s: accepted", model)
		} else if !strings.Contains(err.Error(), model) {
			t.Errorf("%s: error %q does not name the model", model, err)
		}
	}
}

func TestPlanDefaults(t *testing.T) {
	p := Options{}.plan()
	if p.tokens != DefaultReplyTokens || p.stallAfter != DefaultReplyTokens/2 || p.interval != 0 || p.reasoningField != ReasoningField {
		t.Fatalf("%+v", p)
	}
	p = Options{ReplyTokens: -1, StallAfter: -1, TokensPerSecond: 4}.plan()
	if p.tokens != 0 || p.stallAfter != 0 || p.interval != 250*ms {
		t.Fatalf("%+v", p)
	}
	if p := (Options{ReplyTokens: 9}).plan(); p.stallAfter != 4 {
		t.Fatalf("stall after half of 9: %d", p.stallAfter)
	}
}

func TestDirectivesOverrideOneRequestOnly(t *testing.T) {
	h := newHarness(t, Options{ReplyTokens: 8})
	_, events, err := h.stream(t, chatBody("sim-large+tokens=3", "hi", true, false))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := summarize(events)
	c, _ := decodeChunk(events[0].data)
	if s.content != ExpectedReply("hi", 3) || c.Model != "sim-large+tokens=3" {
		t.Fatalf("content %q model %q", s.content, c.Model)
	}
	_, events, _ = h.stream(t, chatBody("sim-large", "hi", true, false))
	if s, _ := summarize(events); s.content != ExpectedReply("hi", 8) {
		t.Fatalf("the next request kept the override: %q", s.content)
	}
}
