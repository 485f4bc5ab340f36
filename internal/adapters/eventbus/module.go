package eventbus

import (
	"context"
	"time"

	"go.uber.org/fx"

	"github.com/chatd/chatd/internal/ports"
)

// Module provides the in-process bus as ports.SessionEvents (with the
// ReplyControl and Presence of a service that is one process) and runs its
// janitor, which forgets idle sessions, for the life of the app.
var Module = fx.Module("eventbus",
	fx.Provide(fx.Annotate(
		func(cfg Config, clock ports.Clock) *Bus { return New(cfg, clock.Now) },
		fx.As(fx.Self()), fx.As(new(ports.SessionEvents)),
		fx.As(new(ports.SessionPublisher)), fx.As(new(ports.SessionSubscriber)),
	)),
	fx.Provide(fx.Annotate(func() *Control { return &Control{} }, fx.As(new(ports.ReplyControl)))),
	fx.Provide(func() ports.Presence { return SoleProcessPresence{} }),
	fx.Invoke(func(lc fx.Lifecycle, b *Bus) {
		stop := make(chan struct{})
		done := make(chan struct{})
		lc.Append(fx.Hook{
			OnStart: func(context.Context) error {
				go func() {
					defer close(done)
					tick := time.NewTicker(time.Minute)
					defer tick.Stop()
					for {
						select {
						case <-tick.C:
							b.Evict()
						case <-stop:
							return
						}
					}
				}()
				return nil
			},
			OnStop: func(ctx context.Context) error {
				close(stop)
				select {
				case <-done:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			},
		})
	}),
)
