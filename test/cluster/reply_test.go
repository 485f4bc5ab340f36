package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/test/harness"
)

// TestReplyOnBReachesAandC: a reply generated for a post on B reaches
// subscribers on A and C as the same numbered events (seq one more per
// event, the same numbers on every process), and the text they build is
// exactly what every process then serves.
func TestReplyOnBReachesAandC(t *testing.T) {
	c := newCluster(t, nil, "A", "B", "C")
	a, b, cc := c.proc("A"), c.proc("B"), c.proc("C")
	u := newUser(t, a, "alice")
	const tokens = 30
	sid := u.newSession(b, simModel(tokens, 40))
	subs := []*subscriber{u.subscribe(a, sid), u.subscribe(cc, sid)}
	startSeq := subs[0].rt.LastSeq
	if other := subs[1].rt.LastSeq; other != startSeq {
		t.Errorf("the snapshots disagree on the session's last seq: %d on A, %d on C", startSeq, other)
	}

	content := "tell every process about this reply"
	want := replyFor(content, tokens)
	post := u.post(b, sid, content)
	replyID := post.Reply.ID

	deadline := time.Now().Add(30 * time.Second) // one wait for both sockets
	for _, s := range subs {
		if err := s.untilEnded(replyID, untilOr(deadline)); err != nil {
			t.Errorf("a reply generated for a post on B must reach every process's subscribers: %v", err)
		}
	}
	if t.Failed() {
		return
	}
	stored := u.message(b, sid, replyID)
	if stored.Status != "completed" || stored.Content != want {
		t.Fatalf("stored reply (read on B): %s with %q, want completed with %q", stored.Status, stored.Content, want)
	}
	for _, p := range []*chatd{a, cc} {
		if m := u.message(p, sid, replyID); m.Status != stored.Status || m.Content != stored.Content {
			t.Errorf("%s serves the reply as %s with %q, B as %s with %q", p.name, m.Status, m.Content, stored.Status, stored.Content)
		}
	}
	if m := u.message(a, sid, post.User.ID); m.Content != content {
		t.Errorf("the user message is stored as %q, want %q", m.Content, content)
	}

	for _, s := range subs {
		where := s.p.name
		end := s.ends[replyID]
		if end.Type != "message.completed" || end.Status != "completed" {
			t.Errorf("the socket on %s saw the reply end with %s (status %s), want message.completed", where, end.Type, end.Status)
		}
		if got := s.rt.Text(replyID); got != stored.Content {
			t.Errorf("the socket on %s built %q from the deltas, but the stored reply is %q", where, got, stored.Content)
		}
		if len(s.ignored) > 0 {
			t.Errorf("the socket on %s received seqs it already had: %v (%s)", where, s.ignored, s.summary())
		}
		var types []string
		for i, e := range s.events {
			if e.Seq != startSeq+int64(i)+1 {
				t.Errorf("the socket on %s received seq %d as event %d after the snapshot's %d, want %d: %s",
					where, e.Seq, i+1, startSeq, startSeq+int64(i)+1, s.summary())
				break
			}
			if i == 0 || types[len(types)-1] != e.Type {
				types = append(types, e.Type)
			}
		}
		// The tracker already holds the order (a delta before its
		// message.created, or after its end, is an error); here: all three kinds came.
		got := strings.Join(types, " ")
		for _, kind := range []string{"message.created", "message.delta", "message.completed"} {
			if !strings.Contains(got, kind) {
				t.Errorf("the socket on %s received %s: no %s", where, got, kind)
			}
		}
		if tm := s.rt.Messages[post.User.ID]; tm == nil || tm.Text != content {
			t.Errorf("the socket on %s was not told of the user message %s with its content", where, post.User.ID)
		}
	}
	// seq numbers the session's events, not a process's: both sockets
	// must have received the same events under the same numbers.
	if x, y := describeEvents(subs[0]), describeEvents(subs[1]); x != y {
		t.Errorf("the sockets on A and C received different numbered events:\nA: %s\nC: %s", x, y)
	}
}

// listsMessage reports whether a snapshot lists the message as streaming.
func listsMessage(snap harness.Snapshot, id string) bool {
	for _, m := range snap.Streaming {
		if m["id"] == id {
			return true
		}
	}
	return false
}

// describeEvents lists a subscriber's events as "seq:type" for comparison.
func describeEvents(s *subscriber) string {
	var parts []string
	for _, e := range s.events {
		parts = append(parts, fmt.Sprintf("%d:%s", e.Seq, e.Type))
	}
	return strings.Join(parts, " ")
}

// TestResumeOnAnotherProcess: a client reading a streaming reply on A loses
// its socket and resumes on C with last_seq: C replays what it missed (the
// events are well inside the replay window), seq goes on one by one, no text
// is doubled or lost, and the end is exactly the stored text.
func TestResumeOnAnotherProcess(t *testing.T) {
	c := newCluster(t, nil, "A", "B", "C")
	a, cc := c.proc("A"), c.proc("C")
	u := newUser(t, a, "bob")
	const tokens, tps = 120, 20 // about 6 s
	sid := u.newSession(a, simModel(tokens, tps))
	sub := u.subscribe(a, sid)

	content := "resume me somewhere else please"
	want := replyFor(content, tokens)
	post := u.post(a, sid, content)
	replyID := post.Reply.ID
	call := c.up.mustCallFor(content, 30*time.Second)
	if err := sub.until(30*time.Second, "10 deltas of the reply on A", func() bool {
		tm := sub.rt.Messages[replyID]
		return tm != nil && tm.Deltas >= 10
	}); err != nil {
		t.Fatalf("the socket on A, the process generating the reply, must stream it: %v", err)
	}
	lastSeq, textBefore := sub.rt.LastSeq, sub.rt.Text(replyID)
	sub.drop()
	// The reply goes on while the client is away, so it has events to miss.
	_, sentAtDrop := call.sent()
	if err := call.waitTokens(sentAtDrop+10, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, ended := sub.ends[replyID]; ended || call.isEnded() {
		t.Fatal("the reply ended before the client resumed: the test proves nothing (make it longer)")
	}

	if err := sub.resumeOn(cc); err != nil {
		t.Fatalf("resuming on C: %v", err)
	}
	first, err := sub.step(30 * time.Second)
	if err != nil {
		t.Fatalf("resuming on C with last_seq=%d: %v", lastSeq, err)
	}
	switch {
	case first.Type == "session.snapshot":
		t.Errorf("C answered last_seq=%d with a fresh snapshot, although the missed events are well inside the "+
			"replay window (CHAT_REPLAY_EVENTS 2048, CHAT_REPLAY_AGE 5m): a client must be able to resume on any process",
			lastSeq)
		if snap := harness.DecodeSnapshot(t, first); !call.isEnded() && !listsMessage(snap, replyID) {
			t.Errorf("C's snapshot lists %d streaming replies, not the reply still streaming on A (%s): "+
				"a snapshot must show the replies every process is generating", len(snap.Streaming), replyID)
		}
	case first.Seq != lastSeq+1:
		t.Errorf("C's first frame after last_seq=%d is %s with seq %d, want seq %d", lastSeq, first.Type, first.Seq, lastSeq+1)
	}
	if err := sub.untilEnded(replyID, 30*time.Second); err != nil {
		t.Fatalf("after resuming on C: %v", err)
	}

	stored := u.waitFinished(cc, sid, replyID, 30*time.Second)
	got := sub.rt.Text(replyID)
	t.Logf("%d bytes before the drop (seq %d), resumed on C, %d bytes in the end; %d old seqs ignored",
		len(textBefore), lastSeq, len(got), sub.rt.Ignored)
	if stored.Status != "completed" || stored.Content != want {
		t.Fatalf("stored reply: %s with %q, want completed with %q", stored.Status, stored.Content, want)
	}
	if end := sub.ends[replyID]; end.Type != "message.completed" || end.Via != "C" {
		t.Errorf("the reply ended with %s via %s, want message.completed via C", end.Type, end.Via)
	}
	if !strings.HasPrefix(got, textBefore) || got != stored.Content {
		t.Fatalf("the client ended with %q (%q before the drop), want exactly the stored %q", got, textBefore, stored.Content)
	}
}
