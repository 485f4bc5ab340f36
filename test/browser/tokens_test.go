package browser

import (
	"context"
	"fmt"
	"iter"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/chatd/chatd/internal/adapters/bootstrap"
)

// The page renews its access token before it expires: with a 2 s token it
// keeps working for several lifetimes, and no request is ever refused.
func TestAccessTokenIsRenewedBeforeItExpires(t *testing.T) {
	chromium(t)
	const reply = "Still signed in."
	srv := startChatd(t, newUpstream(t, time.Millisecond, reply), func(c *bootstrap.Config) {
		c.AccessTokenTTL = 2 * time.Second
	})
	alice := openBrowser(t, srv, "alice")
	refused := watchRefusals(alice)
	alice.register(fmt.Sprintf("alice%d@example.com", time.Now().UnixNano()), "Alice")
	const storedToken = `JSON.parse(sessionStorage.getItem("chatd.auth")).accessToken`
	first := eval[string](alice, storedToken)
	if eval[string](alice, `localStorage.length === 0 ? "" : "used"`) != "" {
		t.Fatal("the page wrote to localStorage; tokens belong in memory and sessionStorage")
	}

	alice.waitUntil("a renewed access token", storedToken+` !== `+jsString(first), storedToken)
	time.Sleep(3 * time.Second) // past the first token's expiry, and the second's
	alice.newChat()
	alice.send("Am I still signed in?")
	alice.waitReply("completed", reply)
	if got := refused.list(); len(got) > 0 {
		t.Fatalf("requests were refused with 401 (the token expired before it was renewed): %v", got)
	}
}

// watchRefusals records the address of every response with status 401.
func watchRefusals(p *page) *collected {
	return collect(p, func(ctx context.Context) iter.Seq2[network.EventResponseReceived, error] {
		return chromedp.Events(ctx, network.ResponseReceived)
	}, func(ev network.EventResponseReceived) (string, bool) {
		return ev.Response.URL, ev.Response.Status == 401
	})
}
