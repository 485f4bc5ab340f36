package llm

import (
	"go.uber.org/fx"

	"github.com/chatd/chatd/internal/ports"
)

// Module provides the ChatModel of both providers from the Config and the
// *zap.Logger in the graph. The client owns its connection pool, so it
// closes the pool's idle connections when the app stops; running replies
// are stopped by their owners (the Generator cancels them).
var Module = fx.Module("llm",
	fx.Provide(fx.Annotate(NewClient,
		fx.As(new(ports.ChatModel)),
		// fx checks hook parameters against the annotated results, which
		// fx.As has turned into the port: the hook gets the port and
		// knows the concrete type behind it.
		fx.OnStop(func(m ports.ChatModel) { m.(*Client).Close() }),
	)),
)
