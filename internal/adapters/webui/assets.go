package webui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
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

// asset is one embedded file, ready to serve.
type asset struct {
	name        string
	body        []byte
	contentType string
	etag        string
	csp         string
}

// serve answers with the asset; If-None-Match gets 304. Browsers revalidate
// every time (no-cache): the names carry no hash, so a longer cache could
// pair a new index.html with old modules after an upgrade, and the ETag keeps
// revalidation cheap.
func (a *asset) serve(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Content-Security-Policy", a.csp)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	http.ServeContent(c.Writer, c.Request, a.name, time.Time{}, bytes.NewReader(a.body))
}

// loadAssets reads every embedded file once, at start.
func loadAssets() map[string]*asset {
	out := map[string]*asset{}
	err := fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(assetFS, p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "assets/")
		csp := resourceCSP
		if path.Ext(name) == ".html" {
			csp = pageCSP
		}
		sum := sha256.Sum256(body)
		out[name] = &asset{name: name, body: body, contentType: contentTypes[path.Ext(name)], csp: csp,
			etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		panic("webui: embedded assets unreadable: " + err.Error())
	}
	return out
}
