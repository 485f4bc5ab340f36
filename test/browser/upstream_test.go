package browser

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/llmsim"
	"github.com/chatd/chatd/test/harness"
)

// upstream is the scripted model: the n-th reply streams replies[n] word by
// word, one word every pace, and waits for release (when set) before it
// finishes, so a test can look at a reply that is complete but still
// streaming. Requests that do not stream (session titles) get the
// simulator's usual short answer.
type upstream struct {
	t       testing.TB
	replies []string
	pace    time.Duration
	release chan struct{}

	mu      sync.Mutex
	streams int
}

func newUpstream(t testing.TB, pace time.Duration, replies ...string) *upstream {
	return &upstream{t: t, replies: replies, pace: pace}
}

// holdReplyEnds makes every reply wait, once all its words are out, until
// the returned func is called.
func (u *upstream) holdReplyEnds() (release func()) {
	u.release = make(chan struct{})
	var once sync.Once
	return func() { once.Do(func() { close(u.release) }) }
}

func (u *upstream) next() (string, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.streams >= len(u.replies) {
		return "", false
	}
	u.streams++
	return u.replies[u.streams-1], true
}

func (u *upstream) serve(req llmsim.Request, w *llmsim.StreamWriter) {
	if !req.Stream {
		harness.WriteReply(req, w, 3)
		return
	}
	text, ok := u.next()
	if !ok {
		u.t.Errorf("upstream: reply %d was not scripted", len(u.replies)+1)
		w.Status(500, `{"error":{"message":"not scripted"}}`)
		return
	}
	for _, word := range words(text) {
		w.Chunk(word)
		select {
		case <-time.After(u.pace):
		case <-w.Context().Done():
			return
		}
	}
	if u.release != nil {
		select {
		case <-u.release:
		case <-w.Context().Done():
			return
		}
	}
	w.Finish("stop")
	if req.IncludeUsage() {
		w.Usage(llmsim.PromptTokens(req.Messages), len(words(text)))
	}
	w.Done()
}

// words splits text into deltas that concatenate back to it: each word
// with the space after it.
func words(text string) []string {
	return strings.SplitAfter(text, " ")
}
