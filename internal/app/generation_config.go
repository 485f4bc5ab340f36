package app

import "time"

// GenerationConfig bounds how replies are generated.
type GenerationConfig struct {
	MaxConcurrentPerUser   int           // replies generating at once per user; more is 429
	RateLimitPerMinute     int           // generations a user may start per minute (0: unlimited)
	DailyTokens            int           // tokens a user's replies may use per UTC day (0: unlimited)
	FlushInterval          time.Duration // how often the text so far is stored while streaming
	ShutdownTimeout        time.Duration // how long a stop lets running replies finish
	DefaultContextMessages int           // history sent to the model when the session does not say
	MaxTokensCeiling       int           // server-side bound on a reply's max_tokens (0: none)
	TitleModel             string        // model that names sessions (empty: the session's model)
	// SoleProcess says no other process shares the database (no broker):
	// at start, every unfinished reply is a dead process's.
	SoleProcess bool
}
