package browser

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Regenerate makes a second reply beside the first; the "1 / 2" arrows
// switch between them, and edit-and-resend branches at the question.
func TestBranchArrowsSwitchTheText(t *testing.T) {
	chromium(t)
	const (
		first  = "The first answer talks about mountains."
		second = "The second answer talks about the sea instead."
		edited = "An answer to the edited question."
	)
	srv := startChatd(t, newUpstream(t, 5*time.Millisecond, first, second, edited))
	alice := openBrowser(t, srv, "alice")
	alice.register(fmt.Sprintf("alice%d@example.com", time.Now().UnixNano()), "Alice")
	alice.newChat()

	alice.send("Where should I go?")
	alice.waitReply("completed", first)

	alice.do(chromedp.Click(byTestID("message-regenerate")))
	alice.waitReply("completed", second)
	alice.waitBranch("2 / 2", second)

	alice.do(chromedp.Click(byTestID("branch-prev")))
	alice.waitBranch("1 / 2", first)

	alice.do(chromedp.Click(byTestID("branch-next")))
	alice.waitBranch("2 / 2", second)

	// Edit and resend: a sibling of the question, with its own reply.
	alice.do(chromedp.Click(byTestID("message-edit")))
	alice.do(
		chromedp.SetValue(byTestID("edit-input"), "Where should I go in May?"),
		chromedp.Click(byTestID("edit-send")),
	)
	alice.waitReply("completed", edited)
	got := alice.messages()
	if len(got) != 2 || got[0].Text != "Where should I go in May?" || got[0].Branch != "2 / 2" || got[1].Branch != "" {
		t.Fatalf("after edit and resend the page shows %+v, want the edited question (2 / 2) and its one reply", got)
	}
}

// waitBranch waits until the last reply shows this text and this position
// among its siblings.
func (p *page) waitBranch(label, text string) {
	p.t.Helper()
	p.waitUntil(fmt.Sprintf("reply %s %q", label, text),
		fmt.Sprintf(`((m) => m !== undefined && m.branch === %s && m.text === %s)(%s)`, jsString(label), jsString(text), lastReplyJS),
		`JSON.stringify(`+lastReplyJS+`)`)
}

// Stop cancels a reply while it streams; the text produced so far stays.
func TestStopCancelsTheReply(t *testing.T) {
	chromium(t)
	const reply = "This reply is stopped before it can finish."
	up := newUpstream(t, 5*time.Millisecond, reply)
	release := up.holdReplyEnds()
	defer release()
	srv := startChatd(t, up)
	alice := openBrowser(t, srv, "alice")
	alice.register(fmt.Sprintf("alice%d@example.com", time.Now().UnixNano()), "Alice")
	alice.newChat()

	alice.send("Say something.")
	alice.waitReply("streaming", reply)
	alice.do(chromedp.Click(byTestID("message-stop")))
	alice.waitReply("cancelled", reply)
}
