package app

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/domain"
)

// generationJob is one reply to generate.
type generationJob struct {
	reply     *domain.ChatMessage // the pending placeholder; the run owns it
	provider  domain.Provider
	model     string
	settings  domain.Settings
	nameAfter bool // the session has no title yet: name it from this exchange
}

// run is one generation in flight. The generating goroutine writes text and
// status under mu; the flusher and snapshots read them under mu.
type run struct {
	job    generationJob
	slot   *slot
	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{}

	mu        sync.Mutex
	reply     *domain.ChatMessage
	text      strings.Builder
	deltas    int // delta events published, all of them in text
	reasoning strings.Builder
	dirty     bool

	saveMu   sync.Mutex // serializes progress flushes with the final save
	finished bool
}

// append adds streamed text; the first piece marks the reply streaming.
func (r *run) append(delta string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reply.Status() == domain.StatusPending {
		_ = r.reply.StartStreaming(now)
	}
	r.text.WriteString(delta)
	r.deltas++
	r.dirty = true
}

// markStreaming records that the model started answering (reasoning may
// come before any text).
func (r *run) markStreaming(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reply.Status() == domain.StatusPending {
		_ = r.reply.StartStreaming(now)
		r.dirty = true
	}
}

// progress returns the reply with its text so far, and whether it changed
// since the last call.
func (r *run) progress(now time.Time) (snap domain.MessageSnapshot, deltas int, dirty bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	dirty = r.dirty
	r.dirty = false
	if dirty && r.reply.Status() == domain.StatusStreaming {
		_ = r.reply.RecordProgress(r.text.String(), now)
	}
	return r.reply.Snapshot(), r.deltas, dirty
}

func (r *run) markDirty() {
	r.mu.Lock()
	r.dirty = true
	r.mu.Unlock()
}

// snapshot is the reply with its text so far, for clients joining mid-reply.
func (r *run) snapshot() domain.MessageSnapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.reply.Snapshot()
	s.Content = r.text.String()
	return s
}

// deltaCount is how many delta events the run published.
func (r *run) deltaCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.deltas
}

// content is the whole text generated.
func (r *run) content() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.text.String()
}

func (r *run) addReasoning(text string) {
	r.mu.Lock()
	r.reasoning.WriteString(strings.ReplaceAll(text, "\x00", ""))
	r.mu.Unlock()
}

func (r *run) reasoningText() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reasoning.String()
}
