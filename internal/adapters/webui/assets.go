package webui

import (
	"embed"
	"path"

	"github.com/chatd/chatd/internal/adapters/httpapi/embedded"
)

//go:embed assets
var assetFS embed.FS

// pageCSP lets the page run only the scripts and styles this server sends
// (no inline code, no eval) and talk only to this server, WebSockets
// included: 'self' covers ws: and wss: on the page's own host.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// resourceCSP is for scripts and styles opened directly: they may run nothing.
const resourceCSP = "default-src 'none'; frame-ancestors 'none'"

// contentTypes are fixed here rather than taken from the system's MIME
// tables, which differ between machines; an asset of any other kind is not
// embedded (TestEveryAssetHasAKnownType).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

// loadAssets reads every embedded file once, at start.
func loadAssets() embedded.Dir {
	return embedded.LoadDir(assetFS, "assets", func(name string) (string, string) {
		if path.Ext(name) == ".html" {
			return contentTypes[".html"], pageCSP
		}
		return contentTypes[path.Ext(name)], resourceCSP
	})
}
