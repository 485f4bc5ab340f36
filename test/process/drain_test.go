package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/llmsim"
)

// drainProbe is what a load balancer saw of a stopping process: the answers
// of /api/v1/health/ready on fresh connections, in order.
type drainProbe struct {
	outcomes []string // "200", "503", "refused", "reset", "exited"
	closedIn time.Duration
}

// watchDrain probes a process that was just signalled until it refuses
// connections or exits, and checks what it saw: readiness may still be 200
// while the signal is being handled, then only 503 until connections are
// refused, which must happen within a few seconds.
func watchDrain(t *testing.T, p *chatd, signalled time.Time) drainProbe {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var probe drainProbe
	add := func(o string) {
		if n := len(probe.outcomes); n == 0 || probe.outcomes[n-1] != o {
			probe.outcomes = append(probe.outcomes, o)
		}
	}
	const closeWithin = 3 * time.Second
	for {
		if !p.running() {
			add("exited")
			break
		}
		status, err := getStatus(client, p.URL+"/api/v1/health/ready")
		switch {
		case err == nil && status == http.StatusOK:
			if len(probe.outcomes) > 0 && probe.outcomes[len(probe.outcomes)-1] != "200" {
				t.Errorf("readiness answered 200 again after %v during the drain", probe.outcomes)
			}
			if since := time.Since(signalled); since > 2*time.Second {
				t.Errorf("readiness still answers 200 %v after the signal", since.Round(time.Millisecond))
			}
			add("200")
		case err == nil && status == http.StatusServiceUnavailable:
			add("503")
		case err == nil:
			t.Errorf("readiness answered %d during the drain, want 503 (or a closed port)", status)
			add(fmt.Sprint(status))
		case errors.Is(err, syscall.ECONNREFUSED):
			add("refused")
		case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF):
			// A connection caught in the listen backlog when the listener closed.
			add("reset")
		case p.running():
			t.Errorf("readiness probe during the drain: %v", err)
			add("error")
		default:
			add("exited")
		}
		if last := probe.outcomes[len(probe.outcomes)-1]; last == "refused" || last == "exited" {
			break
		}
		if time.Since(signalled) > closeWithin {
			t.Errorf("still accepting connections %v after the signal (saw %v)", closeWithin, probe.outcomes)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	probe.closedIn = time.Since(signalled)
	return probe
}

// TestSIGTERMLetsARunningReplyFinish: a reply shorter than
// CHAT_SHUTDOWN_TIMEOUT finishes during the drain and is stored completed.
func TestSIGTERMLetsARunningReplyFinish(t *testing.T) {
	shortReplyFinishesDuringDrain(t, syscall.SIGTERM)
}

// TestSIGINTDrainsLikeSIGTERM: Ctrl-C in a terminal is the same clean stop.
func TestSIGINTDrainsLikeSIGTERM(t *testing.T) {
	shortReplyFinishesDuringDrain(t, os.Interrupt)
}

func shortReplyFinishesDuringDrain(t *testing.T, sig os.Signal) {
	up := startUpstream(t)
	d := newDeployment(t, up.url)
	const timeout = 5 * time.Second
	d.env["CHAT_SHUTDOWN_TIMEOUT"] = timeout.String()
	p := d.start("chatd", nil)
	a := newAPI(t, p)
	a.register(uniqueEmail("drain"), "correct horse battery")

	const tokens, tps = 40, 20 // a reply of about 2 s
	sid := a.newSession("LOCAL", fmt.Sprintf("sim-small+tokens=%d+tps=%d", tokens, tps))
	content := "tell me how a drain works"
	want := replyFor(content, tokens)
	tr := a.postStreaming(sid, content)
	tr.waitDeltas(4, 0, 20*time.Second)

	signalled := time.Now()
	p.signal(sig)
	probe := watchDrain(t, p, signalled)
	code, err := p.waitExit(timeout + 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	stopped := time.Since(signalled)
	t.Logf("%v: readiness %v, connections closed after %v, exit %d after %v",
		sig, probe.outcomes, probe.closedIn.Round(time.Millisecond), code, stopped.Round(time.Millisecond))
	if code != 0 {
		t.Fatalf("exit code %d after %v, want 0", code, sig)
	}
	tr.waitEnd(5 * time.Second)
	got, _ := tr.received()
	if !strings.HasPrefix(want, got) {
		t.Fatalf("the stream received %q, not a prefix of the reply %q", got, want)
	}
	if n := up.sim.Cancelled(); n != 0 {
		t.Errorf("the upstream saw %d cancelled requests; the reply should have been left to finish", n)
	}

	p2 := d.start("chatd after restart", nil)
	b := a.on(p2)
	userID, replyID := tr.ids()
	if replyID == "" {
		t.Fatal("the stream never announced the reply")
	}
	reply := b.message(sid, replyID)
	if reply.Status != "completed" || reply.Content != want || reply.IsStreaming || reply.ErrorMessage != nil {
		t.Fatalf("after the drain the reply is %s (streaming %v, error %v) with %q\nwant completed with %q",
			reply.Status, reply.IsStreaming, deref(reply.ErrorMessage), reply.Content, want)
	}
	if user := b.message(sid, userID); user.Content != content {
		t.Fatalf("user message %q, want %q", user.Content, content)
	}
	p2.stop(timeout + 5*time.Second)
}

// TestSIGTERMInterruptsAReplyLongerThanTheTimeout: a reply still running
// when CHAT_SHUTDOWN_TIMEOUT ends is cancelled and stored interrupted with
// its text, which holds at least everything a client was sent.
func TestSIGTERMInterruptsAReplyLongerThanTheTimeout(t *testing.T) {
	up := startUpstream(t)
	d := newDeployment(t, up.url)
	const timeout = time.Second
	d.env["CHAT_SHUTDOWN_TIMEOUT"] = timeout.String()
	p := d.start("chatd", nil)
	a := newAPI(t, p)
	a.register(uniqueEmail("interrupt"), "correct horse battery")

	const tokens, tps = 200, 20 // a reply of about 10 s
	sid := a.newSession("LOCAL", fmt.Sprintf("sim-small+tokens=%d+tps=%d", tokens, tps))
	content := "write me something long please"
	want := replyFor(content, tokens)
	// A second reply whose model has not answered yet when the stop comes.
	silentSID := a.newSession("LOCAL", "sim-small+ttft=60s")
	_, silent := a.post(silentSID, "are you there")
	tr := a.postStreaming(sid, content)
	tr.waitDeltas(10, 1500*time.Millisecond, 30*time.Second)

	atSignal, deltasAtSignal := tr.received()
	signalled := time.Now()
	p.signal(syscall.SIGTERM)
	probe := watchDrain(t, p, signalled)
	code, err := p.waitExit(timeout + 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	stopped := time.Since(signalled)
	t.Logf("readiness %v, connections closed after %v, exit %d after %v",
		probe.outcomes, probe.closedIn.Round(time.Millisecond), code, stopped.Round(time.Millisecond))
	if code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	if stopped < timeout-100*time.Millisecond {
		t.Errorf("exited %v after SIGTERM: the drain did not give the reply its %v", stopped, timeout)
	}
	tr.waitEnd(5 * time.Second)
	sent, deltas := tr.received()
	if !strings.HasPrefix(sent, atSignal) || !strings.HasPrefix(want, sent) {
		t.Fatalf("the stream is inconsistent: %q at the signal, %q in the end, reply %q", atSignal, sent, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := up.sim.WaitCancelled(ctx, 1); err != nil {
		t.Errorf("the upstream request was never cancelled: %v", err)
	}

	p2 := d.start("chatd after restart", nil)
	b := a.on(p2)
	userID, replyID := tr.ids()
	reply := b.message(sid, replyID)
	replyTokens := llmsim.ReplyTokens(content, tokens)
	stored, _ := tokensIn(replyTokens, reply.Content)
	t.Logf("tokens: %d at the signal, %d sent to the client, %d stored (of %d)", deltasAtSignal, deltas, stored, tokens)
	if reply.Status != "interrupted" || reply.IsStreaming {
		t.Fatalf("after the drain the reply is %s (is_streaming %v), want interrupted", reply.Status, reply.IsStreaming)
	}
	if reply.Content == "" || !strings.HasPrefix(want, reply.Content) || reply.Content == want {
		t.Fatalf("stored content %q is not a non-empty, partial prefix of the reply %q", reply.Content, want)
	}
	if !strings.HasPrefix(reply.Content, sent) {
		t.Fatalf("stored content %q does not hold what the client was sent %q", reply.Content, sent)
	}
	if stored <= deltas {
		t.Errorf("%d tokens stored, %d sent before the signal: the reply did not go on during the %v drain", stored, deltas, timeout)
	}
	if reply.ErrorMessage == nil || *reply.ErrorMessage == "" {
		t.Errorf("an interrupted reply has no error_message")
	}
	if fr, ok := reply.MessageMetadata["finish_reason"]; !ok {
		t.Errorf("an interrupted reply has no finish_reason in its metadata: %v", reply.MessageMetadata)
	} else {
		t.Logf("finish_reason %v, error_message %q", fr, deref(reply.ErrorMessage))
	}
	if user := b.message(sid, userID); user.Content != content {
		t.Fatalf("user message %q, want %q", user.Content, content)
	}
	for _, m := range b.messages(sid) {
		if m.Status == "streaming" || m.Status == "pending" || m.IsStreaming {
			t.Errorf("message %s is still %s after a restart", m.ID, m.Status)
		}
	}
	if r := b.message(silentSID, silent.ID); r.Status != "interrupted" || r.Content != "" || r.ErrorMessage == nil {
		t.Errorf("a reply still waiting for its first token at the stop is %s with %q (error %s), want interrupted, empty, with an error_message",
			r.Status, r.Content, deref(r.ErrorMessage))
	}
	p2.stop(timeout + 5*time.Second)
}

func deref(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}
