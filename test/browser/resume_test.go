package browser

import (
	"context"
	"fmt"
	"iter"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// A WebSocket cut in the middle of a reply reconnects with last_seq, and
// the server's replay fills the gap: the text on screen is the script's,
// with nothing missing and nothing twice.
func TestDroppedSocketResumesTheExactText(t *testing.T) {
	chromium(t)
	reply := strings.TrimSpace(strings.Repeat("Every word of this reply arrives once and in order, even across a cut. ", 4))
	up := newUpstream(t, 50*time.Millisecond, reply)
	release := up.holdReplyEnds()
	srv := startChatd(t, up)
	alice := openBrowser(t, srv, "alice")
	sockets := watchSockets(alice)
	alice.register(fmt.Sprintf("alice%d@example.com", time.Now().UnixNano()), "Alice")
	alice.newChat()

	alice.send("Tell me something long.")
	alice.waitUntil("the reply to be under way", `((m) => m !== undefined && m.text.split(" ").length >= 6)(`+lastReplyJS+`)`,
		`JSON.stringify(`+lastReplyJS+`)`)
	before := eval[string](alice, lastReplyJS+`.text`)
	alice.do(chromedp.Evaluate[chromedp.Void](`window.chatdDebug.dropSocket()`))

	// The whole text, rebuilt from deltas alone: the reply is still
	// streaming (the upstream holds its end), so no final message has
	// replaced what the deltas built.
	alice.waitReply("streaming", reply)
	if len(before) >= len(reply) {
		t.Fatalf("the socket was cut after the reply had ended (%q): nothing was resumed", before)
	}
	release()
	alice.waitReply("completed", reply)

	urls := sockets.list()
	if len(urls) < 2 {
		t.Fatalf("the page opened %d WebSockets, want a second one after the cut: %v", len(urls), urls)
	}
	resumed, err := url.Parse(urls[1])
	if err != nil {
		t.Fatal(err)
	}
	if seq := resumed.Query().Get("last_seq"); seq == "" || seq == "0" {
		t.Fatalf("the page reconnected with %s, want ?last_seq= of the last event it applied", urls[1])
	}
	t.Logf("cut after %d of %d characters; reconnected with %s", len(before), len(reply), resumed.RawQuery)
}

// watchSockets records the address of every WebSocket the page opens.
func watchSockets(p *page) *collected {
	return collect(p, func(ctx context.Context) iter.Seq2[network.EventWebSocketCreated, error] {
		return chromedp.Events(ctx, network.WebSocketCreated)
	}, func(ev network.EventWebSocketCreated) (string, bool) { return ev.URL, true })
}
