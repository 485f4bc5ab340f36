package app

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// historyOverhead covers messages on the path that are not sent (failed
// replies without text), so the budget is still met.
const historyOverhead = 8

const defaultContextMessages = 50

// saveTimeout bounds storing a reply's end; the end must be stored even when
// the generation's own context is already cancelled.
const saveTimeout = 10 * time.Second

// generate runs one reply from the first upstream call to its stored end,
// and returns that end.
func (g *Generator) generate(r *run) domain.MessageSnapshot {
	start := g.clock.Now()
	reply := r.job.reply
	var ttft *time.Duration

	stored := false // the turn is stored and the prompt stands: checked once, not per token
	onDelta := func(d ports.Delta) error {
		if !stored {
			if err := r.waitStored(); err != nil {
				return err
			}
			if r.promptStale() {
				return errStalePrompt
			}
			stored = true
		}
		now := g.clock.Now()
		if ttft == nil {
			t := max(0, now.Sub(start))
			ttft = &t
			r.markStreaming(now)
		}
		if d.Reasoning != "" {
			r.addReasoning(d.Reasoning)
		}
		if strings.IndexByte(d.Content, 0) >= 0 {
			// Storage refuses NUL; a model that emits one loses just that byte.
			d.Content = strings.ReplaceAll(d.Content, "\x00", "")
		}
		if d.Content == "" {
			return nil
		}
		g.inSession(reply.SessionID(), func() {
			r.append(d.Content, now)
			text, index, upTo := r.nextDelta()
			if g.announce.Publish(r.ctx, domain.SessionEvent{
				Type: domain.EventMessageDelta, SessionID: reply.SessionID(),
				Delta: &domain.MessageDelta{MessageID: reply.ID(), Delta: text, Index: index},
			}) {
				r.announced(upTo)
			}
		})
		return nil
	}
	completion, err := g.stream(r, onDelta)
	if r.waitStored() != nil {
		return r.reply.Snapshot() // abandoned: nothing of it exists
	}
	if errors.Is(err, errStalePrompt) || r.promptStale() {
		completion, err = g.stream(r, onDelta) // again, from the stored history
	}
	return g.finish(r, start, ttft, completion, err)
}

// stream builds the prompt from the reply's ancestors, the branch it
// answers, and calls the model: messages of other branches never reach it.
func (g *Generator) stream(r *run, onDelta func(ports.Delta) error) (ports.Completion, error) {
	limit := g.cfg.DefaultContextMessages
	if limit <= 0 {
		limit = defaultContextMessages
	}
	if s := r.job.settings.MaxContextMessages; s != nil {
		limit = *s
	}
	var err error
	r.earlyUsed = r.early != nil && !r.early.stale.Load()
	if r.earlyUsed {
		r.prompt, err = g.earlyHistory(r, r.early, limit+historyOverhead)
	} else {
		sessionID := r.job.reply.SessionID()
		r.prompt, err = g.readBranch(r.ctx, sessionID, r.job.reply.ParentID(), limit+historyOverhead,
			g.newestSeq(r.ctx, sessionID))
	}
	if err != nil {
		return ports.Completion{}, err
	}
	prompt := buildPrompt(r.job.settings, r.prompt.messages, limit)
	req := completionRequest(r.job.provider, r.job.model, r.job.settings, prompt, g.cfg.MaxTokensCeiling)
	return g.model.Stream(r.ctx, req, onDelta)
}

// finish decides the reply's end from how the stream ended, stores it and
// announces it.
func (g *Generator) finish(r *run, start time.Time, ttft *time.Duration, c ports.Completion, err error) domain.MessageSnapshot {
	now := g.clock.Now()
	if now.Before(start) {
		now = start // the wall clock stepped back: a duration is never negative
	}
	content := r.content()
	result := domain.GenerationResult{
		FinishReason: c.FinishReason, ServedModel: c.Model, PromptTokens: c.Usage.PromptTokens,
		CompletionTokens: c.Usage.CompletionTokens, UsageEstimated: c.Usage.Estimated, CostUSD: c.Usage.CostUSD,
		ResponseTime: now.Sub(start), TimeToFirstToken: ttft, Reasoning: r.reasoningText(),
	}
	if err != nil && result.CompletionTokens == 0 && content != "" {
		// The provider never reported usage for a reply it did not finish.
		result.CompletionTokens, result.UsageEstimated = estimateTokens(content), true
	}

	cause := context.Cause(r.ctx)
	if deleted(cause) || errors.Is(cause, errLeaseLost) {
		return r.reply.Snapshot() // nothing left to store or tell, or not ours to
	}
	// The end is decided on a copy: until it is published, snapshots must
	// still show the run as it streamed, in step with the events.
	r.mu.Lock()
	reply := r.reply.Clone()
	r.mu.Unlock()
	switch {
	case err == nil:
		err = reply.Complete(content, result, now)
	case errors.Is(cause, errCancelledByUser):
		result.FinishReason = "cancelled"
		err = reply.Cancel(content, result, now)
	case errors.Is(cause, errShutdown):
		result.FinishReason = "interrupted"
		err = reply.Interrupt(content, result, now)
	default:
		result.FinishReason = "error"
		err = reply.Fail(content, failureSentence(err), result, now)
	}
	final := reply.Snapshot()
	if err != nil {
		g.log.Error("reply end refused", "message_id", final.ID, "error", err)
	}

	r.saveMu.Lock()
	r.finished = true
	announce, saved := g.saveEnd(r.ctx, final, r.deltaCount())
	r.saveMu.Unlock()
	// The user may start another reply as soon as this one's end is
	// announced; the run's remaining work keeps Stop waiting, not the user.
	r.slot.free()

	g.inSession(final.SessionID, func() {
		// A delete that came while the end was being stored has already
		// been announced: the end of a deleted message is not news.
		if announce && !deleted(context.Cause(r.ctx)) {
			endSeq := g.announce.PublishFinal(context.Background(), domain.SessionEvent{
				Type: domain.FinalEventOf(final.Status), SessionID: final.SessionID, Message: &final,
			})
			if saved {
				g.rememberBranch(r, final, endSeq)
			}
		}
		g.forget(final.ID)
	})
	g.log.InfoContext(r.ctx, "reply ended", "message_id", final.ID, "session_id", final.SessionID, "status", final.Status,
		"chars", len(final.Content), "duration_ms", result.ResponseTime.Milliseconds())
	return final
}

// deleted tells whether a run was stopped because its message or session is gone.
func deleted(cause error) bool {
	return errors.Is(cause, errSessionDeleted) || errors.Is(cause, errMessageDeleted)
}

// saveEnd stores the reply's end, retrying briefly: the database may be
// restarting, and a reply left streaming would be repaired as interrupted
// once its lease lapsed. announce is false when the end is not this
// process's to announce: another process repaired the reply meanwhile;
// saved tells that storage holds the end. runCtx gives its values (the
// trace), not its cancellation: a cancelled reply's end is stored too.
func (g *Generator) saveEnd(runCtx context.Context, final domain.MessageSnapshot, deltas int) (announce, saved bool) {
	deadline := time.Now().Add(saveTimeout)
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(runCtx), saveTimeout)
		err := g.messages.SaveReply(ctx, domain.RehydrateMessage(final), g.owner, deltas)
		cancel()
		if err == nil {
			return true, true
		}
		if lostLease(err) {
			g.log.Warn("reply end not stored: another process repaired it", "message_id", final.ID)
			return false, false
		}
		if domain.IsKind(err, domain.ErrNotFound) || time.Now().After(deadline) {
			g.log.Error("store reply end", "message_id", final.ID, "status", final.Status, "error", err)
			return true, false
		}
		time.Sleep(time.Duration(100*(attempt+1)) * time.Millisecond)
	}
}

// failureSentence is what users read on a failed reply: the domain error's
// sentence, never a raw upstream body.
func failureSentence(err error) string {
	if de, ok := domain.AsError(err); ok && de.Detail != "" {
		return de.Detail
	}
	return "the model failed to answer"
}

// estimateTokens guesses a token count from text: about four characters each.
func estimateTokens(text string) int {
	return max(1, (len(text)+3)/4)
}
