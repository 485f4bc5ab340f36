package app

import "go.uber.org/fx"

// Module provides every use case. Its ports come from the adapters' modules;
// Limits comes from the composition root.
var Module = fx.Module("app",
	fx.Provide(
		NewAccess,
		NewAnnouncer,
		NewAccounts,
		NewRegister,
		NewLogin,
		NewRefresh,
		NewLogout,
		NewCreateSession,
		NewUpdateSession,
		NewDeleteSession,
		NewParticipants,
		NewListMessages,
		NewSearchMessages,
		NewSendMessage,
		NewUpdateMessage,
		NewGetStats,
		NewGenerator,
		NewProcessLLM,
		NewRegenerate,
		NewDeleteMessage,
		NewCancelGeneration,
		NewImportSessions,
		NewExportSessions,
	),
)

// Serving runs the Generator for a serving process: it repairs replies a
// dead process left generating before the server listens, and on stop lets
// running replies finish before storage closes (fx stops hooks in reverse
// order). Commands that only use the use cases leave it out. It is a module
// so that its hook takes its place among the other modules' (fx runs a
// module's invokes before its parent's): before the HTTP server's, so the
// server stops taking requests before the Generator drains.
var Serving = fx.Module("generator", fx.Invoke(func(lc fx.Lifecycle, g *Generator) {
	lc.Append(fx.Hook{OnStart: g.Start, OnStop: g.Stop})
}))
