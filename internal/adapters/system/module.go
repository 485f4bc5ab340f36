package system

import (
	"go.uber.org/fx"

	"github.com/chatd/chatd/internal/ports"
)

// Module provides the wall clock and the id generator.
var Module = fx.Module("system",
	fx.Provide(
		fx.Annotate(NewClock, fx.As(new(ports.Clock))),
		fx.Annotate(NewIDs, fx.As(new(ports.IDs))),
	),
)
