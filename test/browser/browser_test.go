// Package browser drives chatd's web page in headless Chromium (Debian's
// chromium, through chromedp) against the real chatd, started in-process on
// the serving fx graph by test/harness with SQLite and a scripted upstream.
package browser

import (
	"context"
	"fmt"
	"iter"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/chatd/chatd/internal/adapters/bootstrap"
	"github.com/chatd/chatd/internal/llmsim"
	"github.com/chatd/chatd/test/harness"
)

// chromium finds the browser, or skips the test with one line saying why;
// CI sets CHAT_TEST_REQUIRE_BROWSER=1 so that a missing browser fails.
func chromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err == nil {
		return path
	}
	harness.MissingBrowserTool(t, "no browser: chromium is not installed (apt-get install chromium)")
	return ""
}

// startChatd runs chatd with its LOCAL and OPENROUTER providers pointed at
// the scripted upstream. CORS origins stay empty: the page is same-origin.
func startChatd(t *testing.T, up *upstream, tune ...func(*bootstrap.Config)) *harness.Server {
	t.Helper()
	cfg := harness.DefaultConfig(t, harness.SQLite)
	for _, f := range tune {
		f(&cfg)
	}
	if len(cfg.CORSOrigins) != 0 {
		t.Fatal("the page must work without CHAT_CORS_ORIGINS")
	}
	sim := harness.WithUpstream(t, &cfg, llmsim.Options{})
	sim.Script(up.serve)
	return harness.Start(t, cfg)
}

// actionTimeout bounds one step of a test: generous, since the race
// detector and a shared machine slow everything.
const actionTimeout = 30 * time.Second

// page is one browser tab with its own profile (its own sessionStorage):
// one user.
type page struct {
	t    *testing.T
	ctx  context.Context
	base string
	name string
}

// openBrowser starts a Chromium of its own (a fresh profile) and returns
// its tab, closed when the test ends.
func openBrowser(t *testing.T, srv *harness.Server, name string) *page {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 800),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx,
		chromedp.WithLogf(func(string, ...any) {}),
		chromedp.WithErrorf(func(format string, args ...any) { t.Logf(name+": chromedp: "+format, args...) }))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	// The first run starts the browser and binds its life to the context it
	// gets: the tab's, not a step's timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: start chromium: %v", name, err)
	}
	p := &page{t: t, ctx: ctx, base: srv.URL, name: name}
	// Whatever the test does, the page must not throw, and the CSP must never
	// have to refuse it anything (inline code, a foreign origin).
	problems := collect(p, chromedp.Console, func(m chromedp.ConsoleMessage) (string, bool) {
		return m.Text, m.IsException() || strings.Contains(m.Text, "Content Security Policy")
	})
	t.Cleanup(func() {
		if got := problems.list(); len(got) > 0 {
			t.Errorf("%s: the page threw or broke its CSP: %q", name, got)
		}
	})
	return p
}

// collected is what collect kept of a tab's events.
type collected struct {
	mu    sync.Mutex
	items []string
}

func (c *collected) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.items...)
}

// collect keeps what keep returns for each event of the tab, until the test
// ends.
func collect[E any](p *page, subscribe func(context.Context) iter.Seq2[E, error], keep func(E) (string, bool)) *collected {
	c := &collected{}
	ctx, stop := context.WithCancel(p.ctx)
	events := subscribe(ctx) // subscribed now; ends with ctx
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range events {
			if err != nil {
				return
			}
			if item, ok := keep(ev); ok {
				c.mu.Lock()
				c.items = append(c.items, item)
				c.mu.Unlock()
			}
		}
	}()
	p.t.Cleanup(func() {
		stop()
		<-done
	})
	return c
}

// do runs steps, failing the test on the first error.
func (p *page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](p *page, expression string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expression, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: evaluate %s: %v", p.name, expression, err)
	}
	return v
}

// waitUntil polls a JavaScript condition until it holds; on a timeout the
// failure shows what describe evaluates to then.
func (p *page) waitUntil(what, condition, describe string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](condition, chromedp.WithPollingInterval(20*time.Millisecond)))
	if err != nil {
		p.t.Fatalf("%s: waiting for %s: %v; the page shows %s", p.name, what, err, eval[string](p, describe))
	}
}

// byTestID is the CSS selector of a data-testid.
func byTestID(id string) chromedp.CSS { return chromedp.CSS(fmt.Sprintf(`[data-testid=%q]`, id)) }

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

// register opens the page (with its debug hook) and creates an account
// through the form, as a person would.
func (p *page) register(email, name string) {
	p.t.Helper()
	p.do(
		chromedp.Navigate(p.base+"/?debug=1"),
		chromedp.WaitVisible(byTestID("auth-email")),
		chromedp.SendKeys(byTestID("auth-email"), email),
		chromedp.SendKeys(byTestID("auth-password"), "correct horse battery"),
		chromedp.SendKeys(byTestID("auth-name"), name),
		chromedp.Click(byTestID("auth-register")),
		chromedp.WaitVisible(byTestID("app-view")),
	)
	p.waitUntil("the model list", `document.querySelector('[data-testid="model-select"]').options.length > 0`,
		`document.querySelector('[data-testid="notice"]').textContent`)
}

// newChat starts a session with the first model the picker lists and
// returns its id once its WebSocket is open.
func (p *page) newChat() string {
	p.t.Helper()
	p.do(chromedp.Click(byTestID("session-new")))
	p.waitUntil("the chat view", `/^#\/s\//.test(location.hash)`, `location.hash`)
	p.waitConnected()
	return strings.TrimPrefix(eval[string](p, `location.hash`), "#/s/")
}

// openChat goes to a session by its address, as a shared link would.
func (p *page) openChat(sessionID string) {
	p.t.Helper()
	p.do(chromedp.Navigate(p.base + "/?debug=1#/s/" + sessionID))
	p.waitConnected()
}

func (p *page) waitConnected() {
	p.t.Helper()
	p.waitUntil("the WebSocket to open", `document.querySelector('[data-testid="connection"]').dataset.state === "open"`,
		`document.querySelector('[data-testid="connection"]').dataset.state + " " + document.querySelector('[data-testid="notice"]').textContent`)
}

// send types a message in the composer and sends it.
func (p *page) send(text string) {
	p.t.Helper()
	p.do(
		chromedp.SendKeys(byTestID("composer-input"), text),
		chromedp.Click(byTestID("composer-send")),
	)
}

// shownMessage is what the page shows of one message.
type shownMessage struct {
	Role   string `json:"role"`
	Status string `json:"status"`
	Text   string `json:"text"`
	Branch string `json:"branch"`
}

const shownMessagesJS = `[...document.querySelectorAll('[data-testid="message"]')].map((el) => ({
	role: el.dataset.role, status: el.dataset.status,
	text: el.querySelector('[data-testid="message-content"]')?.textContent ?? "",
	branch: el.querySelector('[data-testid="branch-label"]')?.textContent ?? "",
}))`

func (p *page) messages() []shownMessage { return eval[[]shownMessage](p, shownMessagesJS) }

// lastReplyJS is the last assistant message on screen, as shownMessagesJS
// describes it.
const lastReplyJS = `(` + shownMessagesJS + `).filter((m) => m.role === "assistant").at(-1)`

// waitReply waits until the last reply on screen has this status and text.
func (p *page) waitReply(status, text string) {
	p.t.Helper()
	p.waitUntil(fmt.Sprintf("a %s reply %q", status, text),
		fmt.Sprintf(`((m) => m !== undefined && m.status === %s && m.text === %s)(%s)`, jsString(status), jsString(text), lastReplyJS),
		`JSON.stringify(`+lastReplyJS+`)`)
}

// artifactsDir is where tests leave files for people to look at: never the
// repository.
func artifactsDir() string {
	if dir := os.Getenv("CHAT_TEST_ARTIFACTS"); dir != "" {
		return dir
	}
	return os.TempDir()
}
