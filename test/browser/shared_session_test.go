package browser

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Two people in two browsers share one session: each sees the other arrive
// and type, and both watch the same reply stream in.
func TestTwoUsersShareASession(t *testing.T) {
	chromium(t)
	const reply = "Both of you read this reply, streamed word by word to every participant of the session."
	srv := startChatd(t, newUpstream(t, 15*time.Millisecond, reply))
	stamp := time.Now().UnixNano()
	aliceEmail, bobEmail := fmt.Sprintf("alice%d@example.com", stamp), fmt.Sprintf("bob%d@example.com", stamp)

	alice := openBrowser(t, srv, "alice")
	bob := openBrowser(t, srv, "bob")
	alice.register(aliceEmail, "Alice")
	bob.register(bobEmail, "Bob")
	sessionID := alice.newChat()

	// The owner adds Bob through the page.
	alice.do(
		chromedp.SendKeys(byTestID("participant-email"), bobEmail),
		chromedp.Click(byTestID("participant-add")),
	)
	alice.waitUntil("Bob in the participant list",
		`[...document.querySelectorAll('[data-testid="participant"]')].some((p) => p.textContent === "Bob")`,
		`document.querySelector('[data-testid="presence-list"]').textContent`)

	bob.openChat(sessionID)
	alice.waitUntil("Bob online", `[...document.querySelectorAll('[data-testid="participant"]')].some((p) =>
		p.textContent === "Bob" && p.dataset.online === "true")`,
		`document.querySelector('[data-testid="presence-list"]').innerHTML`)

	bob.do(chromedp.SendKeys(byTestID("composer-input"), "What do you both"))
	alice.waitUntil("Bob's typing indicator",
		`((el) => !el.hidden && el.textContent === "Bob is typing…")(document.querySelector('[data-testid="typing-indicator"]'))`,
		`document.querySelector('[data-testid="typing-indicator"]').outerHTML`)

	bob.send(" see?")
	alice.waitReply("completed", reply)
	bob.waitReply("completed", reply)
	for _, p := range []*page{alice, bob} {
		got := p.messages()
		if len(got) != 2 || got[0].Role != "user" || got[0].Text != "What do you both see?" || got[1].Text != reply {
			t.Fatalf("%s shows %+v, want Bob's question and the reply", p.name, got)
		}
	}
	alice.waitUntil("the typing indicator to end", `document.querySelector('[data-testid="typing-indicator"]').hidden`,
		`document.querySelector('[data-testid="typing-indicator"]').outerHTML`)

	shot, err := chromedp.Run(alice.ctx, chromedp.Screenshot(byTestID("chat-view")))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(artifactsDir(), fmt.Sprintf("chatd-chat-view-%d.png", stamp))
	if err := os.WriteFile(path, shot, 0o600); err != nil {
		t.Fatalf("write the screenshot: %v", err)
	}
	t.Logf("screenshot of the chat view (Alice's browser): %s", path)
}
