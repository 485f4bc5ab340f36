package redisbus

import (
	"context"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/ports"
)

// connectTimeout bounds reaching the broker at start: a broker that does
// not answer stops the start with a clear error rather than a hang.
const connectTimeout = 10 * time.Second

// Module provides the Redis bus as the service's SessionEvents,
// ReplyControl and Presence, connected before the server starts and shut
// down after it stops. It replaces the eventbus module when CHAT_BROKER_URL is set.
var Module = fx.Module("redisbus",
	fx.Provide(fx.Annotate(
		func(lc fx.Lifecycle, cfg Config, log *zap.Logger) (*Bus, error) {
			ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
			defer cancel()
			b, err := New(ctx, cfg, log)
			if err != nil {
				return nil, err
			}
			lc.Append(fx.StopHook(b.Shutdown))
			return b, nil
		},
		fx.As(fx.Self()), fx.As(new(ports.SessionEvents)),
		fx.As(new(ports.SessionPublisher)), fx.As(new(ports.SessionSubscriber)), fx.As(new(ports.ReplyControl)),
	)),
	fx.Provide(fx.Annotate(
		func(lc fx.Lifecycle, b *Bus) *Presence {
			p := NewPresence(b)
			lc.Append(fx.Hook{OnStart: p.Start, OnStop: p.Stop})
			return p
		},
		fx.As(new(ports.Presence)),
	)),
)
