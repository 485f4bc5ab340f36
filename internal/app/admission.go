package app

import (
	"context"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// Every reply starts the same way, whichever route asked for it (a post,
// regenerate, process-llm): the Generator admits it before anything is
// stored, the use case stores the placeholder with its turn, and the pending
// reply is then started, or abandoned when the store failed.

// replyTarget is which provider and model answer, after per-request overrides.
type replyTarget struct {
	provider domain.Provider
	model    string
	settings domain.Settings
}

func targetOf(s *domain.ChatSession, provider *domain.Provider, model *string) replyTarget {
	t := replyTarget{provider: s.Provider(), model: s.Model(), settings: s.Settings()}
	if provider != nil {
		t.provider = *provider
	}
	if model != nil {
		t.model = *model
	}
	return t
}

// PendingReply is a reply admitted but not started: it holds the caller's
// generation slot and the placeholder to store. Exactly one of Start or
// Abandon ends it; CallEarly may come before either.
type PendingReply struct {
	gen   *Generator
	job   generationJob
	slot  *slot
	early *run                // launched by CallEarly, waiting for Start or Abandon
	asked *domain.ChatMessage // the user message CallEarly was given, which the store attaches
}

// Placeholder is the pending assistant message to store with the turn.
func (p *PendingReply) Placeholder() *domain.ChatMessage { return p.job.reply }

// Lease is this process's hold on the reply, stored with it: the reply is
// this process's to write until the lease lapses unrenewed.
func (p *PendingReply) Lease() ports.ReplyLease {
	return ports.ReplyLease{Owner: p.gen.owner, Until: p.gen.clock.Now().Add(leaseTerm)}
}

// CallEarly calls the model now, while the turn is being stored, with the
// history up to parent (where the turn is expected to go) and msg, the
// turn's user message: the call's round trip overlaps the commit's, and
// the first token waits only for what is left of the commit. Nothing is
// stored or announced before Start; if the turn went elsewhere, the run
// calls the model again with the stored history.
func (p *PendingReply) CallEarly(msg *domain.ChatMessage, parent *string) {
	p.asked = msg
	seen := p.gen.newestSeq(p.job.origin, msg.SessionID())
	p.early = p.gen.launch(p.job, p.slot, &earlyPrompt{msg: msg.Clone(), parent: parent, seenSeq: seen})
}

// Start hands the stored placeholder to the Generator, which announces the
// turn's other stored messages, then the placeholder, then its deltas.
func (p *PendingReply) Start(stored ...*domain.ChatMessage) {
	created := append(stored, p.job.reply)
	if p.early == nil {
		p.gen.start(p.job, p.slot, created...)
		return
	}
	if !sameID(p.asked.ParentID(), p.early.early.parent) {
		p.early.early.stale.Store(true)
	}
	p.gen.commit(p.early, created...)
}

// Abandon frees the slot of a reply whose turn was not stored.
func (p *PendingReply) Abandon() {
	if p.early != nil {
		p.early.abandon()
		<-p.early.done // its model call is cancelled: the wait is short
	}
	p.slot.done()
}

func sameID(a, b *string) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

// admit checks the caller's daily token budget and generation rate, takes
// a concurrency slot and builds the placeholder; a refusal happens before
// anything is stored or sent upstream.
func (g *Generator) admit(ctx context.Context, caller Caller, s *domain.ChatSession, t replyTarget) (*PendingReply, error) {
	now := g.clock.Now().UTC()
	if budget := g.cfg.DailyTokens; budget > 0 {
		day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		used, err := g.usage.TokensUsedSince(ctx, caller.UserID, day)
		if err != nil {
			return nil, err
		}
		if used >= budget {
			return nil, domain.RateLimited("daily-token-budget-spent",
				"you have used today's token budget; it renews at midnight UTC", day.Add(24*time.Hour).Sub(now))
		}
	}
	// The slot first: a post refused for concurrency must not spend the rate.
	replyID := g.ids.NewID()
	held, err := g.reserve(ctx, caller.UserID, replyID)
	if err != nil {
		return nil, err
	}
	rate := ports.Rate{PerMinute: g.cfg.RateLimitPerMinute}
	ok, retry, err := g.limiter.Allow(ctx, "llm:"+caller.UserID, rate, now)
	if err != nil {
		held.done()
		return nil, domain.Unavailable("limits-unavailable",
			"the service cannot check your limits right now; try again shortly", err)
	}
	if !ok {
		held.done()
		return nil, domain.RateLimited("generation-rate-limited",
			"you are starting replies too fast; retry after the time in Retry-After", retry)
	}
	reply, err := domain.NewReplyPlaceholder(replyID, s.ID(), caller.UserID, nil, t.provider, t.model, now)
	if err != nil {
		held.done()
		return nil, err
	}
	job := generationJob{origin: ctx, reply: reply, provider: t.provider, model: t.model, settings: t.settings,
		nameAfter: s.Title() == ""}
	return &PendingReply{gen: g, job: job, slot: held}, nil
}
