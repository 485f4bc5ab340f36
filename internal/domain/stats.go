package domain

// ModelStats aggregates the messages of one provider and model.
type ModelStats struct {
	Provider          Provider
	Model             string
	Messages          int
	Tokens            int
	AvgResponseTimeMs float64
}

// Stats summarizes sessions and messages for a user or the whole deployment.
type Stats struct {
	TotalSessions     int
	ActiveSessions    int
	TotalMessages     int
	MessagesByRole    map[MessageRole]int
	TotalTokens       int
	AvgResponseTimeMs float64
	ByModel           []ModelStats
}
