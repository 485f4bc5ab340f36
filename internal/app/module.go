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
		NewSendMessage,
		NewUpdateMessage,
		NewGetStats,
	),
)
