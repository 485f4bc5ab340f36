package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// Search finds a message and opens its session; Export downloads the
// session as chatd.v1, and importing that file through the page brings
// back a session with the same conversation.
func TestSearchExportAndImport(t *testing.T) {
	chromium(t)
	const reply = "Lisbon in May is lovely and mild."
	srv := startChatd(t, newUpstream(t, time.Millisecond, reply))
	alice := openBrowser(t, srv, "alice")
	alice.register(fmt.Sprintf("alice%d@example.com", time.Now().UnixNano()), "Alice")
	sessionID := alice.newChat()
	alice.send("Where should I travel in spring?")
	alice.waitReply("completed", reply)

	alice.do(chromedp.Navigate(alice.base + "/?debug=1"))
	alice.waitUntil("the session list", `document.querySelectorAll('[data-testid="session-item"]').length === 1`,
		`document.querySelector('[data-testid="session-list"]').textContent`)
	alice.do(chromedp.SendKeys(byTestID("search-input"), "lisb"))
	alice.waitUntil("a search result", fmt.Sprintf(`((r) => r !== null && r.dataset.sessionId === %s && r.textContent.includes("Lisbon in May"))(
		document.querySelector('[data-testid="search-result"]'))`, jsString(sessionID)),
		`document.querySelector('[data-testid="search-results"]').textContent`)
	alice.do(chromedp.Click(byTestID("search-result")))
	alice.waitConnected()
	alice.waitReply("completed", reply)

	downloads := t.TempDir()
	alice.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads,
		})
		return err
	}))
	alice.do(chromedp.Click(byTestID("export")))
	exported := waitForFile(t, downloads, "*.chatd.json")
	var doc struct {
		Format   string `json:"format"`
		Sessions []struct {
			Messages []struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"messages"`
		} `json:"sessions"`
	}
	raw, err := os.ReadFile(exported)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc.Format != "chatd.v1" || len(doc.Sessions) != 1 ||
		len(doc.Sessions[0].Messages) != 2 || doc.Sessions[0].Messages[1].Content != reply {
		t.Fatalf("the export is not the session as chatd.v1 (%v): %.400s", err, raw)
	}

	alice.do(chromedp.SetUploadFiles(byTestID("import-file"), []string{exported}))
	alice.waitUntil("the imported session to open", fmt.Sprintf(`/^#\/s\//.test(location.hash) && location.hash !== %s`,
		jsString("#/s/"+sessionID)), `location.hash + " " + document.querySelector('[data-testid="notice"]').textContent`)
	alice.waitConnected()
	// Waited for, not read once: the exported session's messages (the same
	// text) may still be on screen while the imported one is drawn.
	alice.waitUntil("the imported session's two messages",
		fmt.Sprintf(`((ms) => ms.length === 2 && ms[0].text === %s && ms[1].status === "completed" && ms[1].text === %s)(%s)`,
			jsString("Where should I travel in spring?"), jsString(reply), shownMessagesJS),
		`JSON.stringify(`+shownMessagesJS+`)`)
}

// waitForFile waits until a finished file matching pattern appears in dir.
func waitForFile(t *testing.T, dir, pattern string) string {
	t.Helper()
	deadline := time.Now().Add(actionTimeout)
	for time.Now().Before(deadline) {
		if found, _ := filepath.Glob(filepath.Join(dir, pattern)); len(found) > 0 {
			return found[0]
		}
		time.Sleep(50 * time.Millisecond)
	}
	entries, _ := os.ReadDir(dir)
	t.Fatalf("no %s in %s after %s; it holds %v", pattern, dir, actionTimeout, entries)
	return ""
}
