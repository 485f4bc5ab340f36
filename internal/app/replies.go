package app

import (
	"context"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// Replies is what posting and process-llm share: admitting a generation
// before anything is stored, building the placeholder, announcing new
// messages and handing the reply to the Generator.
type Replies struct {
	gen     *Generator
	limiter ports.RateLimiter
	usage   ports.UsageReader
	events  ports.SessionEvents
	ids     ports.IDs
	clock   ports.Clock
	cfg     GenerationConfig
}

// NewReplies builds the shared reply steps.
func NewReplies(gen *Generator, limiter ports.RateLimiter, usage ports.UsageReader, events ports.SessionEvents,
	ids ports.IDs, clock ports.Clock, cfg GenerationConfig,
) *Replies {
	return &Replies{gen: gen, limiter: limiter, usage: usage, events: events, ids: ids, clock: clock, cfg: cfg}
}

// admit checks the caller's daily token budget and generation rate, and
// takes a concurrency slot; a refusal happens before anything is stored or
// sent upstream.
func (rs *Replies) admit(ctx context.Context, caller Caller) (release func(), err error) {
	now := rs.clock.Now().UTC()
	if budget := rs.cfg.DailyTokens; budget > 0 {
		day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		used, err := rs.usage.TokensUsedSince(ctx, caller.UserID, day)
		if err != nil {
			return nil, err
		}
		if used >= budget {
			return nil, domain.RateLimited("daily-token-budget-spent",
				"you have used today's token budget; it renews at midnight UTC", day.Add(24*time.Hour).Sub(now))
		}
	}
	// The slot first: a post refused for concurrency must not spend the rate.
	release, err = rs.gen.reserve(caller.UserID)
	if err != nil {
		return nil, err
	}
	rate := ports.Rate{PerMinute: rs.cfg.RateLimitPerMinute}
	if ok, retry := rs.limiter.Allow("llm:"+caller.UserID, rate, now); !ok {
		release()
		return nil, domain.RateLimited("generation-rate-limited",
			"you are starting replies too fast; retry after the time in Retry-After", retry)
	}
	return release, nil
}

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

func (rs *Replies) placeholder(s *domain.ChatSession, caller Caller, parentID *string, t replyTarget) (*domain.ChatMessage, error) {
	return domain.NewReplyPlaceholder(rs.ids.NewID(), s.ID(), caller.UserID, parentID, t.provider, t.model, rs.clock.Now())
}

// announce publishes message.created for a message stored without a reply.
func (rs *Replies) announce(m *domain.ChatMessage) {
	rs.events.Publish(domain.MessageEvent(domain.EventMessageCreated, m))
}

// start announces the stored messages and hands the placeholder to the
// Generator; the placeholder is announced last, just before its deltas.
func (rs *Replies) start(s *domain.ChatSession, t replyTarget, release func(), prompt, reply *domain.ChatMessage) {
	rs.gen.start(generationJob{
		reply: reply, provider: t.provider, model: t.model, settings: t.settings, nameAfter: s.Title() == "",
	}, release, prompt, reply)
}
