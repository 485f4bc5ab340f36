package httpapi

import (
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
)

// AsRoutes puts a route set into the "routes" value group.
func AsRoutes(constructor any) any {
	return fx.Annotate(constructor, fx.As(new(Routes)), fx.ResultTags(`group:"routes"`))
}

// Module provides the HTTP server and every route set. It needs a Config, the
// use cases, the ports they read directly, and a ConnectionCounter.
var Module = fx.Module("httpapi",
	fx.Provide(
		fx.Annotate(NewRegistry, fx.As(fx.Self()), fx.As(new(prometheus.Registerer))),
		func(reg *prometheus.Registry) *httpMetrics { return newHTTPMetrics(reg) },
		newServerState,
		NewServer,
		AsRoutes(newHealthRoutes),
		AsRoutes(newAuthRoutes),
		AsRoutes(newSessionRoutes),
		AsRoutes(newParticipantRoutes),
		AsRoutes(newMessageRoutes),
		AsRoutes(newSearchRoutes),
		AsRoutes(newStatsRoutes),
		AsRoutes(newDocsRoutes),
		AsRoutes(newGenerationRoutes),
		AsRoutes(newTransferRoutes),
	),
	fx.Invoke(func(lc fx.Lifecycle, s *Server) {
		lc.Append(fx.Hook{OnStart: s.Start, OnStop: s.Stop})
	}),
)
