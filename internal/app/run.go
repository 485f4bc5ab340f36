package app

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// generationJob is one reply to generate.
type generationJob struct {
	// origin is the request that started the job: the run keeps its values
	// (the trace it belongs to), not its deadline or cancellation.
	origin    context.Context
	reply     *domain.ChatMessage // the pending placeholder; the run owns it
	provider  domain.Provider
	model     string
	settings  domain.Settings
	nameAfter bool // the session has no title yet: name it from this exchange
}

// earlyPrompt is what a model call made before the turn is stored builds
// its prompt from: the turn's user message and the parent it is expected
// to get. stale is set when the turn was stored under another parent.
type earlyPrompt struct {
	msg     *domain.ChatMessage
	parent  *string
	seenSeq sessionSeq // the session's, before the turn was stored
	stale   atomic.Bool
}

// run is one generation in flight. The generating goroutine writes text and
// status under mu; the flusher and snapshots read them under mu.
type run struct {
	job    generationJob
	slot   *slot
	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{}
	// stored is closed once the turn is stored (commit) or known never to
	// be (abandon): the run stores and announces nothing before.
	stored chan struct{}
	early  *earlyPrompt // the prompt of a model call made before the turn was stored; nil otherwise
	// earlyUsed: the model call under way was built from the early
	// prompt (the run's goroutine only).
	earlyUsed bool
	// prompt is the history of the model call under way (the run's
	// goroutine only); createdSeqs are the seqs of the turn's created
	// events (written before stored is closed). With the deltas and the
	// end, they tell whether the run's events were the session's only ones
	// since the history was read (see rememberBranch).
	prompt      promptHistory
	createdSeqs []int64

	mu    sync.Mutex
	reply *domain.ChatMessage
	text  strings.Builder // all the text generated
	// What the delta events the broker took hold: the first announcedBytes
	// of text, in announcedDeltas events. Progress and snapshots use only
	// this much, so stored text is never ahead of the events; text the
	// broker refused goes out with the next delta, so the deltas a client
	// gets always add up to the text.
	announcedBytes, announcedDeltas int
	reasoning                       strings.Builder
	dirty                           bool

	saveMu   sync.Mutex // serializes progress flushes with the final save
	finished bool
}

// waitStored waits until the turn is stored or abandoned, and fails when
// it was abandoned. The commit or abandon follows the launch within the
// request that made both, so the wait is short and always ends.
func (r *run) waitStored() error {
	<-r.stored
	if err := context.Cause(r.ctx); errors.Is(err, errTurnNotStored) {
		return err
	}
	return nil
}

// promptStale reports, once, that the early call's prompt assumed another
// parent than the turn was stored under: the call must be made again.
func (r *run) promptStale() bool {
	if !r.earlyUsed || !r.early.stale.Load() {
		return false
	}
	r.earlyUsed = false
	return true
}

// append adds streamed text; the first piece marks the reply streaming.
func (r *run) append(delta string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reply.Status() == domain.StatusPending {
		_ = r.reply.StartStreaming(now)
	}
	r.text.WriteString(delta)
	r.dirty = true
}

// nextDelta is the delta event to announce now: the text no event holds
// yet (more than the newest piece when the broker refused earlier ones),
// with its index and the text's length once it is announced.
func (r *run) nextDelta() (text string, index, upTo int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	all := r.text.String()
	return all[r.announcedBytes:], r.announcedDeltas, len(all)
}

// announced records that the broker took the delta nextDelta made.
func (r *run) announced(upTo int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.announcedBytes = upTo
	r.announcedDeltas++
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

func (r *run) markDirty() {
	r.mu.Lock()
	r.dirty = true
	r.mu.Unlock()
}

// deltaCount is how many delta events the broker took.
func (r *run) deltaCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.announcedDeltas
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

// asGenerating is the run as a snapshot starts from: the text its
// announced deltas hold, and how many they are.
func (r *run) asGenerating() ports.GeneratingReply {
	r.mu.Lock()
	defer r.mu.Unlock()
	snap := r.reply.Snapshot()
	snap.Content = r.text.String()[:r.announcedBytes]
	return ports.GeneratingReply{Message: domain.RehydrateMessage(snap), Deltas: r.announcedDeltas}
}
