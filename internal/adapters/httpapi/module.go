package httpapi

import (
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
)

// asRoutes puts a route set into the "routes" value group.
func asRoutes(constructor any) any {
	return fx.Annotate(constructor, fx.As(new(Routes)), fx.ResultTags(`group:"routes"`))
}

// Module provides the HTTP server and every route set. It needs a Config, the
// use cases, the ports they read directly, and a ConnectionCounter.
var Module = fx.Module("httpapi",
	fx.Provide(
		NewRegistry,
		func(reg *prometheus.Registry) *httpMetrics { return newHTTPMetrics(reg) },
		newServerState,
		NewServer,
		asRoutes(newHealthRoutes),
		asRoutes(newAuthRoutes),
		asRoutes(newSessionRoutes),
		asRoutes(newParticipantRoutes),
		asRoutes(newMessageRoutes),
		asRoutes(newStatsRoutes),
		asRoutes(newDocsRoutes),
		asRoutes(newGenerationRoutes),
	),
	fx.Invoke(func(lc fx.Lifecycle, s *Server) {
		lc.Append(fx.Hook{OnStart: s.Start, OnStop: s.Stop})
	}),
)
