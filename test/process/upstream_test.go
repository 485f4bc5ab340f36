package process

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/llmsim"
)

// upstream is llmsim, in this test process, as chatd's model server.
type upstream struct {
	sim *llmsim.Server
	url string // base URL for CHAT_*_BASE_URL, ending in /v1
}

// startUpstream serves llmsim until the test ends. Start it before any chatd
// so that it outlives them (cleanups run last-in first-out).
func startUpstream(t *testing.T) *upstream {
	t.Helper()
	sim := llmsim.New(llmsim.Options{})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() {
		sim.Close() // releases handlers still streaming
		srv.Close()
	})
	return &upstream{sim: sim, url: srv.URL + "/v1"}
}

// tokensIn counts how many whole reply tokens text holds, when text is a
// prefix of the reply made of tokens; ok is false otherwise.
func tokensIn(tokens []string, text string) (n int, ok bool) {
	rest := text
	for _, tok := range tokens {
		if rest == "" {
			return n, true
		}
		if !strings.HasPrefix(rest, tok) {
			return n, false
		}
		rest = rest[len(tok):]
		n++
	}
	return n, rest == ""
}

// replyFor is the whole reply llmsim gives to content in tokens tokens.
func replyFor(content string, tokens int) string { return llmsim.ExpectedReply(content, tokens) }
