package main

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestSSEReaderSplitsEventsAndSkipsComments(t *testing.T) {
	long := strings.Repeat("x", 100<<10)
	stream := ": keep-alive\n\nid: 1\nevent: message.delta\ndata: {\"a\":1}\n\n" +
		"event: message.completed\r\ndata: " + long + "\r\n\r\n" +
		"data: line one\ndata: line two\n\n" + "data: [DONE]"
	r := newSSEReader(strings.NewReader(stream))
	want := []struct{ name, data string }{
		{"message.delta", `{"a":1}`}, {"message.completed", long}, {"", "line one\nline two"}, {"", "[DONE]"},
	}
	for i, w := range want {
		name, data, err := r.next()
		if err != nil || string(name) != w.name || string(data) != w.data {
			t.Fatalf("event %d: %q %.40q %v", i, name, data, err)
		}
	}
	if _, _, err := r.next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last event: %v", err)
	}
}

func TestReplyCheckCatchesLossReorderAndDoubling(t *testing.T) {
	whole := "You wrote \"hi\". chatd is"
	parts := []string{"You ", "wrote ", "\"hi\". ", "chatd ", "is"}
	done := &frame{typ: typeCompleted, status: "completed", content: whole}

	c := newReplyCheck(whole)
	for i, p := range parts {
		c.delta(i, []byte(p))
	}
	c.end(done)
	if !c.ok() {
		t.Fatalf("a whole reply failed: %s", c.problem())
	}

	cases := map[string][]int{"lost": {0, 1, 3, 4}, "reordered": {0, 2, 1, 3, 4}, "doubled": {0, 1, 1, 2, 3, 4}}
	for name, order := range cases {
		c := newReplyCheck(whole)
		for _, i := range order {
			c.delta(i, []byte(parts[i]))
		}
		c.end(done)
		if c.ok() || c.problem() == "" {
			t.Errorf("%s: passed", name)
		}
	}
	c = newReplyCheck(whole)
	c.delta(0, []byte(parts[0]))
	if c.ok() || !strings.Contains(c.problem(), "no final event") {
		t.Errorf("an unfinished reply: %q", c.problem())
	}
}

func TestSeqCheckCountsGapsAfterTheSnapshot(t *testing.T) {
	s := newSeqCheck()
	for _, f := range []frame{{typ: typeSnapshot, lastSeq: 10}, {seq: 11}, {typ: "presence"}, {seq: 12}, {seq: 12}, {seq: 14}} {
		s.see(&f)
	}
	if s.gaps != 1 || s.dups != 1 {
		t.Fatalf("gaps %d dups %d", s.gaps, s.dups)
	}
}

func TestQuantilesAreNearestRank(t *testing.T) {
	var s []time.Duration
	for i := 100; i >= 1; i-- {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	d := newDist(s)
	if d.q(.5) != 50*time.Millisecond || d.q(.99) != 99*time.Millisecond || d.max() != 100*time.Millisecond || d.q(0.001) != time.Millisecond {
		t.Fatalf("p50 %s p99 %s max %s", d.q(.5), d.q(.99), d.max())
	}
	if newDist(nil).q(.5) != 0 {
		t.Fatal("empty")
	}
}

func TestPeakOverlap(t *testing.T) {
	at := func(ms int) time.Time { return time.Unix(0, 0).Add(time.Duration(ms) * time.Millisecond) }
	spans := [][2]time.Time{{at(0), at(10)}, {at(5), at(15)}, {at(10), at(20)}, {at(12), at(13)}, {}}
	if got := peakOverlap(spans); got != 3 {
		t.Fatalf("peak %d, want 3", got)
	}
}
