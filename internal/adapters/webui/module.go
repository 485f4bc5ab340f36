// Package webui serves the page to chat in at /: a small reference client
// built on the public API, its assets embedded in the binary, nothing loaded
// from elsewhere at run time.
package webui

import (
	"go.uber.org/fx"

	"github.com/chatd/chatd/internal/adapters/httpapi"
)

// Module mounts the page's routes on the HTTP server.
var Module = fx.Module("webui", fx.Provide(httpapi.AsRoutes(newRoutes)))
