package main

import (
	"fmt"
	"strings"
)

// replyCheck follows one reply at one subscriber: each delta must continue
// the expected text exactly, with indexes 0, 1, 2... and the final event
// must carry the whole text. Comparing as the deltas arrive keeps memory
// flat however many subscribers there are.
type replyCheck struct {
	expected  string
	matched   int // bytes of expected received so far
	nextIndex int
	deltas    int
	bytes     int
	problems  []string
	final     string // the final event's type, once seen
}

func newReplyCheck(expected string) *replyCheck { return &replyCheck{expected: expected} }

func (c *replyCheck) fail(format string, args ...any) {
	if len(c.problems) < 5 {
		c.problems = append(c.problems, fmt.Sprintf(format, args...))
	}
}

// delta applies one message.delta.
func (c *replyCheck) delta(index int, text []byte) {
	c.deltas++
	c.bytes += len(text)
	if index != c.nextIndex {
		c.fail("delta index %d where %d was due", index, c.nextIndex)
	}
	c.nextIndex = index + 1
	rest := c.expected[c.matched:]
	if len(text) > len(rest) || rest[:len(text)] != string(text) {
		c.fail("delta %d %q does not continue the text at byte %d", index, text, c.matched)
		return
	}
	c.matched += len(text)
}

// end applies the reply's final event.
func (c *replyCheck) end(f *frame) {
	c.final = f.typ
	if f.typ != typeCompleted || f.status != "completed" {
		c.fail("reply ended %s (status %q)", f.typ, f.status)
	}
	if f.content != c.expected {
		c.fail("final content (%d bytes) differs from the expected reply (%d bytes)", len(f.content), len(c.expected))
	}
}

// ok reports a reply received whole, in order, and completed.
func (c *replyCheck) ok() bool {
	return len(c.problems) == 0 && c.final == typeCompleted && c.matched == len(c.expected)
}

// problem describes what went wrong, for the report.
func (c *replyCheck) problem() string {
	p := append([]string(nil), c.problems...)
	if c.final == "" {
		p = append(p, fmt.Sprintf("no final event after %d deltas (%d of %d bytes)", c.deltas, c.matched, len(c.expected)))
	} else if c.matched != len(c.expected) && len(c.problems) == 0 {
		p = append(p, fmt.Sprintf("deltas carried %d of %d bytes", c.matched, len(c.expected)))
	}
	return strings.Join(p, "; ")
}

// seqCheck follows a WebSocket's session events: after a snapshot's
// last_seq, every event with a seq must be the next one.
type seqCheck struct {
	last int64 // -1 until the snapshot
	gaps int
	dups int
}

func newSeqCheck() seqCheck { return seqCheck{last: -1} }

func (s *seqCheck) see(f *frame) {
	switch {
	case f.typ == typeSnapshot:
		s.last = f.lastSeq
	case f.seq <= 0 || s.last < 0:
	case f.seq <= s.last:
		s.dups++
	case f.seq != s.last+1:
		s.gaps++
		s.last = f.seq
	default:
		s.last = f.seq
	}
}
