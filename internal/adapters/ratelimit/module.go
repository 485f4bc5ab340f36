package ratelimit

import (
	"go.uber.org/fx"

	"github.com/chatd/chatd/internal/ports"
)

// Module provides the in-memory limiter with DefaultMaxKeys. When chatd runs
// as several processes, a shared store replaces this module.
var Module = fx.Module("ratelimit",
	fx.Provide(fx.Annotate(newDefault, fx.As(new(ports.RateLimiter)))),
)

func newDefault() *Limiter { return New(DefaultMaxKeys) }
