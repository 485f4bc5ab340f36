package realtime

import (
	"go.uber.org/fx"

	"github.com/chatd/chatd/internal/adapters/httpapi"
)

// Module provides the Hub as the WebSocket route set and as the connection
// counter the HTTP health and stats read. Its stop hook closes every socket
// with 1001 during the drain.
var Module = fx.Module("realtime",
	fx.Provide(fx.Annotate(NewHub,
		fx.As(fx.Self()),
		fx.As(new(httpapi.ConnectionCounter)),
	)),
	fx.Provide(httpapi.AsRoutes(func(h *Hub) *Hub { return h })),
	fx.Invoke(func(lc fx.Lifecycle, h *Hub) {
		lc.Append(fx.Hook{OnStop: h.Stop})
	}),
)
