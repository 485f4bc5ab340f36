package app

import (
	"context"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// GetStats aggregates the caller's sessions, or the deployment's for admins.
type GetStats struct {
	stats ports.StatsReader
}

// NewGetStats builds the use case.
func NewGetStats(stats ports.StatsReader) *GetStats {
	return &GetStats{stats: stats}
}

// Handle answers the caller's stats; allScopes asks for the whole deployment.
func (h *GetStats) Handle(ctx context.Context, caller Caller, all bool) (domain.Stats, error) {
	if all {
		if !caller.IsAdmin() {
			return domain.Stats{}, domain.Forbidden("admin-only", "only administrators may see deployment-wide stats")
		}
		return h.stats.Stats(ctx, nil)
	}
	id := caller.UserID
	return h.stats.Stats(ctx, &id)
}
