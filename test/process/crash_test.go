package process

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/llmsim"
)

// TestSIGKILLMidStreamIsRepairedAtTheNextStart: a process killed while a
// reply streams leaves the reply streaming in the database with the text of
// its last flush; the next start marks it interrupted. The flush promise (at
// least every second) bounds what is lost: about a second of tokens.
func TestSIGKILLMidStreamIsRepairedAtTheNextStart(t *testing.T) {
	up := startUpstream(t)
	d := newDeployment(t, up.url)
	p := d.start("chatd", nil)
	a := newAPI(t, p)
	a.register(uniqueEmail("crash"), "correct horse battery")

	const tokens, tps = 200, 20 // a reply of about 10 s at a steady pace
	sid := a.newSession("LOCAL", fmt.Sprintf("sim-small+tokens=%d+tps=%d", tokens, tps))
	content := "what happens when the process dies"
	replyTokens := llmsim.ReplyTokens(content, tokens)
	want := strings.Join(replyTokens, "")
	// A second reply whose model has not answered yet: left pending.
	silentSID := a.newSession("LOCAL", "sim-small+ttft=60s")
	_, silent := a.post(silentSID, "are you there")
	tr := a.postStreaming(sid, content)
	tr.waitDeltas(10, 2500*time.Millisecond, 30*time.Second)

	p.signal(syscall.SIGKILL)
	if _, err := p.waitExit(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	tr.waitEnd(5 * time.Second)
	received, deltas := tr.received()
	if !strings.HasPrefix(want, received) {
		t.Fatalf("the stream received %q, not a prefix of the reply %q", received, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := up.sim.WaitIdle(ctx); err != nil {
		t.Errorf("the upstream request outlived the process: %v", err)
	}

	p2 := d.start("chatd after restart", nil)
	b := a.on(p2)
	userID, replyID := tr.ids()
	if userID == "" || replyID == "" {
		t.Fatalf("the stream never announced the messages (events %v)", tr.eventTypes())
	}
	if user := b.message(sid, userID); user.Content != content || user.Status != "completed" {
		t.Fatalf("user message %q (%s), want %q completed", user.Content, user.Status, content)
	}
	reply := b.message(sid, replyID)
	if reply.Status != "interrupted" || reply.IsStreaming {
		t.Fatalf("after the crash and a restart the reply is %s (is_streaming %v), want interrupted",
			reply.Status, reply.IsStreaming)
	}
	stored, ok := tokensIn(replyTokens, reply.Content)
	if !ok {
		t.Fatalf("stored content %q is not a prefix of the reply %q made of whole tokens", reply.Content, want)
	}
	got, _ := tokensIn(replyTokens, received)
	t.Logf("received %d deltas (%d tokens), %d tokens stored", deltas, got, stored)
	if stored == 0 {
		t.Fatalf("nothing was stored after %d tokens and more than 2 s of streaming: text is flushed at least every second", got)
	}
	// The last flush may have caught a token an instant before the SSE
	// writer sent it; more than that means stored text the client never got.
	if stored > got+1 {
		t.Fatalf("stored %d tokens, but the client was sent only %d before the kill", stored, got)
	}
	// A flush at least every second loses at most a second of tokens; allow
	// half a second more for the flush's own write and a loaded machine.
	if lost, limit := got-stored, tps*3/2; lost > limit {
		t.Fatalf("the crash lost %d tokens (%d received, %d stored); at %d tokens/s a flush every second loses at most ~%d",
			lost, got, stored, tps, limit)
	}
	for _, m := range b.messages(sid) {
		if m.Status == "streaming" || m.Status == "pending" || m.IsStreaming {
			t.Errorf("message %s is still %s after a restart", m.ID, m.Status)
		}
	}
	if r := b.message(silentSID, silent.ID); r.Status != "interrupted" || r.Content != "" {
		t.Errorf("a reply left pending by the crash is %s with %q after a restart, want interrupted and empty", r.Status, r.Content)
	}

	t.Run("a repaired reply says why, like a drained one", func(t *testing.T) {
		var problems []string
		if reply.ErrorMessage == nil || *reply.ErrorMessage == "" {
			problems = append(problems, "error_message is null")
		}
		if _, ok := reply.MessageMetadata["finish_reason"]; !ok {
			problems = append(problems, fmt.Sprintf("message_metadata has no finish_reason (%v)", reply.MessageMetadata))
		}
		if len(problems) > 0 {
			t.Errorf("a reply repaired at start (storage MessageRepo.RepairLapsed) only gets status "+
				"interrupted and updated_at: %s, while a reply interrupted by a drain carries error_message %q and "+
				"finish_reason \"interrupted\" (CONTRACT.md: assistant replies hold at least finish_reason...)",
				strings.Join(problems, "; "), "the server stopped before the reply was finished")
		}
	})
	p2.stop(20 * time.Second)
}
