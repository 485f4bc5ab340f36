package fakes

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

var (
	_ ports.StatsReader = (*StatsRepo)(nil)
	_ ports.UsageReader = (*StatsRepo)(nil)
)

// StatsRepo aggregates the store.
type StatsRepo struct{ s *Store }

// Stats summarizes the sessions the user owns and the messages in them, or
// everything when userID is nil: every role is listed (zero included),
// averages count only messages with a response time, and models are ranked
// by messages (most first), then model, then provider.
func (r *StatsRepo) Stats(ctx context.Context, userID *string) (domain.Stats, error) {
	if err := r.s.enter(ctx, "stats.Stats"); err != nil {
		return domain.Stats{}, err
	}
	defer r.s.mu.Unlock()
	st := domain.Stats{
		MessagesByRole: map[domain.MessageRole]int{domain.RoleUser: 0, domain.RoleAssistant: 0, domain.RoleSystem: 0},
		ByModel:        []domain.ModelStats{},
	}
	counted := map[string]bool{}
	for id, s := range r.s.sessions {
		if userID != nil && s.OwnerID != *userID {
			continue
		}
		counted[id] = true
		st.TotalSessions++
		if s.IsActive {
			st.ActiveSessions++
		}
	}
	type modelKey struct {
		provider domain.Provider
		model    string
	}
	type sums struct{ messages, tokens, timed, timeSum int }
	byModel := map[modelKey]*sums{}
	var all sums
	for _, m := range r.s.messages {
		if !counted[m.SessionID] {
			continue
		}
		st.MessagesByRole[m.Role]++
		k := modelKey{m.Provider, m.Model}
		s := byModel[k]
		if s == nil {
			s = &sums{}
			byModel[k] = s
		}
		for _, t := range []*sums{s, &all} {
			t.messages++
			if m.TokensUsed != nil {
				t.tokens += *m.TokensUsed
			}
			if m.ResponseTimeMs != nil {
				t.timed++
				t.timeSum += *m.ResponseTimeMs
			}
		}
	}
	average := func(sum, n int) float64 {
		if n == 0 {
			return 0
		}
		return float64(sum) / float64(n)
	}
	st.TotalMessages, st.TotalTokens = all.messages, all.tokens
	st.AvgResponseTimeMs = average(all.timeSum, all.timed)
	for k, s := range byModel {
		st.ByModel = append(st.ByModel, domain.ModelStats{
			Provider: k.provider, Model: k.model, Messages: s.messages, Tokens: s.tokens,
			AvgResponseTimeMs: average(s.timeSum, s.timed),
		})
	}
	slices.SortFunc(st.ByModel, func(a, b domain.ModelStats) int {
		return cmp.Or(cmp.Compare(b.Messages, a.Messages), cmp.Compare(a.Model, b.Model), cmp.Compare(a.Provider, b.Provider))
	})
	return st, nil
}

// TokensUsedSince sums tokens_used of the assistant messages the user asked
// for that were created at or after since.
func (r *StatsRepo) TokensUsedSince(ctx context.Context, userID string, since time.Time) (int, error) {
	if err := r.s.enter(ctx, "stats.TokensUsedSince"); err != nil {
		return 0, err
	}
	defer r.s.mu.Unlock()
	since = dbTime(since)
	used := 0
	for _, m := range r.s.messages {
		if m.UserID == userID && m.Role == domain.RoleAssistant && !m.CreatedAt.Before(since) && m.TokensUsed != nil {
			used += *m.TokensUsed
		}
	}
	return used, nil
}
