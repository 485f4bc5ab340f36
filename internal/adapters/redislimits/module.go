package redislimits

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/fx"

	"github.com/chatd/chatd/internal/ports"
)

// Config says where the limits are kept.
type Config struct {
	URL    string // redis://[user:password@]host:port/db
	Prefix string // starts every key; "chatd" when empty
}

// Module provides the service-wide RateLimiter and GenerationSlots on one
// Redis client. It replaces the ratelimit module when CHAT_BROKER_URL is set.
var Module = fx.Module("redislimits",
	fx.Provide(connect),
	fx.Provide(fx.Annotate(
		func(c *redis.Client, cfg Config) *RateLimiter { return NewRateLimiter(c, prefixOf(cfg)) },
		fx.As(new(ports.RateLimiter)),
	)),
	fx.Provide(fx.Annotate(
		func(c *redis.Client, cfg Config) *GenerationSlots { return NewGenerationSlots(c, prefixOf(cfg)) },
		fx.As(new(ports.GenerationSlots)),
	)),
)

func prefixOf(cfg Config) string {
	if cfg.Prefix == "" {
		return "chatd"
	}
	return cfg.Prefix
}

// connect makes the client and checks that Redis answers. A limit check is on
// the request path: it fails fast rather than retrying while Redis is down
// (the callers answer 503), and the callers' deadlines bound each command.
func connect(lc fx.Lifecycle, cfg Config) (*redis.Client, error) {
	opts, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redislimits: parse the Redis URL: %w", err)
	}
	opts.MaxRetries = -1
	opts.DialTimeout = 500 * time.Millisecond
	opts.ContextTimeoutEnabled = true
	client := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("redislimits: ping Redis at %s: %w", opts.Addr, err)
	}
	lc.Append(fx.StopHook(client.Close))
	return client, nil
}
