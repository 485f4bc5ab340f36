package browser

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// pageNumbers is what the performance API of the page tells after a load.
type pageNumbers struct {
	Bytes            int     `json:"bytes"`
	Files            int     `json:"files"`
	FirstPaintMS     float64 `json:"first_paint_ms"`
	ChatDrawnMS      float64 `json:"chat_drawn_ms"`
	NavigationStatus int     `json:"navigation_status"`
}

// The page's weight (the HTML and every /ui/ asset it loads, uncompressed)
// and how soon a chat shows, for the notes: logged, with a budget on weight.
func TestPageWeightAndFirstPaint(t *testing.T) {
	chromium(t)
	const reply = "A reply for the chat view to show."
	srv := startChatd(t, newUpstream(t, time.Millisecond, reply))
	alice := openBrowser(t, srv, "alice")
	alice.register(fmt.Sprintf("alice%d@example.com", time.Now().UnixNano()), "Alice")
	sessionID := alice.newChat()
	alice.send("Show me a chat.")
	alice.waitReply("completed", reply)

	// A fresh load of the chat, signed in (the tokens are in sessionStorage).
	alice.do(chromedp.Navigate("about:blank"), chromedp.Navigate(alice.base+"/#/s/"+sessionID))
	alice.waitReply("completed", reply)
	alice.waitUntil("the first contentful paint", `performance.getEntriesByName("first-contentful-paint").length > 0`, `"none"`)
	n := eval[pageNumbers](alice, `(() => {
		const nav = performance.getEntriesByType("navigation")[0];
		const assets = performance.getEntriesByType("resource").filter((r) => new URL(r.name).pathname.startsWith("/ui/"));
		return {
			bytes: nav.decodedBodySize + assets.reduce((sum, r) => sum + r.decodedBodySize, 0),
			files: 1 + assets.length,
			first_paint_ms: performance.getEntriesByName("first-contentful-paint")[0].startTime,
			chat_drawn_ms: performance.getEntriesByName("chatd:chat-drawn")[0].startTime,
			navigation_status: nav.responseStatus,
		};
	})()`)
	t.Logf("page weight: %d bytes (%.1f KB) in %d files; first contentful paint %.0f ms; chat view drawn with its messages %.0f ms after navigation start",
		n.Bytes, float64(n.Bytes)/1024, n.Files, n.FirstPaintMS, n.ChatDrawnMS)
	if n.Files < 8 || n.Bytes == 0 {
		t.Fatalf("measured %d files and %d bytes: the performance API missed the page's modules", n.Files, n.Bytes)
	}
	if n.Bytes > 60<<10 {
		t.Errorf("the page weighs %d bytes, over its 60 KB budget", n.Bytes)
	}
}
