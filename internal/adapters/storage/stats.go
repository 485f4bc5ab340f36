package storage

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

// StatsRepo aggregates sessions and messages.
type StatsRepo struct{ db *DB }

// NewStatsRepo returns the stats reader over db.
func NewStatsRepo(db *DB) *StatsRepo { return &StatsRepo{db: db} }

// statsGroup is one (provider, model, role) group of messages. Sums and
// counts come from SQL and averages are divided here, because AVG answers
// numeric on PostgreSQL and real on SQLite and the two must agree exactly.
type statsGroup struct {
	Provider string `bun:"llm_provider"`
	Model    string `bun:"llm_model"`
	Role     string `bun:"role"`
	Messages int64  `bun:"messages"`
	Tokens   int64  `bun:"tokens"`
	Timed    int64  `bun:"timed"`
	TimeSum  int64  `bun:"time_sum"`
}

// Stats summarizes the sessions a user owns and the messages in them, or
// everything when userID is nil.
func (r *StatsRepo) Stats(ctx context.Context, userID *string) (domain.Stats, error) {
	st := domain.Stats{
		MessagesByRole: map[domain.MessageRole]int{domain.RoleUser: 0, domain.RoleAssistant: 0, domain.RoleSystem: 0},
		ByModel:        []domain.ModelStats{},
	}
	if userID != nil && !isCanonicalID(*userID) {
		return st, nil
	}

	sq := r.db.read.NewSelect().TableExpr("chat_sessions AS s").
		ColumnExpr("COUNT(*)").
		ColumnExpr("COALESCE(SUM(CASE WHEN s.is_active THEN 1 ELSE 0 END), 0)")
	if userID != nil {
		sq = sq.Where("s.user_id = ?", *userID)
	}
	if err := sq.Scan(ctx, &st.TotalSessions, &st.ActiveSessions); err != nil {
		return domain.Stats{}, wrap("stats", err)
	}

	var groups []statsGroup
	mq := r.db.read.NewSelect().TableExpr("chat_messages AS m").
		ColumnExpr("m.llm_provider, m.llm_model, m.role").
		ColumnExpr("COUNT(*) AS messages").
		ColumnExpr("COALESCE(SUM(m.tokens_used), 0) AS tokens").
		ColumnExpr("COUNT(m.response_time_ms) AS timed").
		ColumnExpr("COALESCE(SUM(m.response_time_ms), 0) AS time_sum").
		GroupExpr("m.llm_provider, m.llm_model, m.role")
	if userID != nil {
		mq = mq.Join("JOIN chat_sessions AS s ON s.id = m.session_id").Where("s.user_id = ?", *userID)
	}
	if err := mq.Scan(ctx, &groups); err != nil {
		return domain.Stats{}, wrap("stats", err)
	}

	type modelKey struct{ provider, model string }
	type sums struct{ messages, tokens, timed, timeSum int64 }
	byModel := map[modelKey]*sums{}
	var all sums
	for _, g := range groups {
		st.MessagesByRole[domain.MessageRole(g.Role)] += int(g.Messages)
		k := modelKey{g.Provider, g.Model}
		s := byModel[k]
		if s == nil {
			s = &sums{}
			byModel[k] = s
		}
		for _, t := range []*sums{s, &all} {
			t.messages += g.Messages
			t.tokens += g.Tokens
			t.timed += g.Timed
			t.timeSum += g.TimeSum
		}
	}
	st.TotalMessages = int(all.messages)
	st.TotalTokens = int(all.tokens)
	st.AvgResponseTimeMs = average(all.timeSum, all.timed)
	for k, s := range byModel {
		st.ByModel = append(st.ByModel, domain.ModelStats{
			Provider: domain.Provider(k.provider), Model: k.model, Messages: int(s.messages),
			Tokens: int(s.tokens), AvgResponseTimeMs: average(s.timeSum, s.timed),
		})
	}
	// Sorted here, not in SQL: PostgreSQL's collation and SQLite's byte order
	// would rank models differently.
	slices.SortFunc(st.ByModel, func(a, b domain.ModelStats) int {
		return cmp.Or(cmp.Compare(b.Messages, a.Messages), cmp.Compare(a.Model, b.Model), cmp.Compare(a.Provider, b.Provider))
	})
	return st, nil
}

func average(sum, n int64) float64 {
	if n == 0 {
		return 0
	}
	return float64(sum) / float64(n)
}

// TokensUsedSince sums the tokens of the replies userID asked for since then.
func (r *StatsRepo) TokensUsedSince(ctx context.Context, userID string, since time.Time) (int, error) {
	if !isCanonicalID(userID) {
		return 0, nil
	}
	var used int64
	err := r.db.read.NewSelect().TableExpr("chat_messages AS m").
		ColumnExpr("COALESCE(SUM(m.tokens_used), 0)").
		Where("m.user_id = ?", userID).
		Where("m.role = ?", string(domain.RoleAssistant)).
		Where("m.created_at >= ?", dbTime(since)).
		Scan(ctx, &used)
	if err != nil {
		return 0, wrap("tokens used", err)
	}
	return int(used), nil
}
