package app

import "go.uber.org/fx"

// Module provides every use case. Its ports come from the adapters' modules;
// Limits comes from the composition root.
var Module = fx.Module("app",
	fx.Provide(
		NewAccess,
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
	// The Generator repairs replies a dead process left generating before the
	// server listens, and on stop lets running replies finish before storage
	// closes (fx stops hooks in reverse order).
	fx.Invoke(func(lc fx.Lifecycle, g *Generator) {
		lc.Append(fx.Hook{OnStart: g.Start, OnStop: g.Stop})
	}),
)
