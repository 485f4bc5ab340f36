package ratelimit

import (
	"go.uber.org/fx"

	"github.com/chatd/chatd/internal/ports"
)

// Module provides the in-memory limiter with DefaultMaxKeys and the
// in-memory generation slots. When chatd runs as several processes, a
// shared store (redislimits) replaces this module.
var Module = fx.Module("ratelimit",
	fx.Provide(fx.Annotate(newDefault, fx.As(new(ports.RateLimiter)))),
	fx.Provide(fx.Annotate(NewGenerationSlots, fx.As(new(ports.GenerationSlots)))),
)

func newDefault() *Limiter { return New(DefaultMaxKeys) }
