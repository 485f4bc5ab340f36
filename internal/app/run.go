package app

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
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

	mu     sync.Mutex
	reply  *domain.ChatMessage
	text   strings.Builder
	deltas int // delta events made, all of them in text
	// What the delta events announced so far hold (the publish of the
	// newest may still be under way): progress stores only this much, so
	// stored text is never ahead of the events.
	announcedBytes, announcedDeltas int
	reasoning                       strings.Builder
	dirty                           bool

	saveMu   sync.Mutex // serializes progress flushes with the final save
	finished bool
}

// append adds streamed text and returns its delta's index; the first piece
// marks the reply streaming.
func (r *run) append(delta string, now time.Time) (index int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reply.Status() == domain.StatusPending {
		_ = r.reply.StartStreaming(now)
	}
	r.text.WriteString(delta)
	r.deltas++
	r.dirty = true
	return r.deltas - 1
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
		_ = r.reply.RecordProgress(r.text.String()[:r.announcedBytes], now)
	}
	return r.reply.Snapshot(), r.announcedDeltas, dirty
}

// announced records that every delta so far went out (or was refused by
// the broker: the text stays the truth either way).
func (r *run) announced() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.announcedBytes, r.announcedDeltas = r.text.Len(), r.deltas
}

func (r *run) markDirty() {
	r.mu.Lock()
	r.dirty = true
	r.mu.Unlock()
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

// asGenerating is the run as a snapshot starts from: all its text, and
// how many deltas that is.
func (r *run) asGenerating() ports.GeneratingReply {
	r.mu.Lock()
	defer r.mu.Unlock()
	snap := r.reply.Snapshot()
	snap.Content = r.text.String()
	return ports.GeneratingReply{Message: domain.RehydrateMessage(snap), Deltas: r.deltas}
}
