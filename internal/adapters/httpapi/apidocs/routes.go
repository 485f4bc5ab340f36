package apidocs

import (
	"embed"
	"path"

	"github.com/gin-gonic/gin"

	"github.com/chatd/chatd/internal/adapters/httpapi/embedded"
)

// Where the documentation lives.
const (
	SpecPath    = "/openapi.json"
	SwaggerPath = "/docs"
	RedocPath   = "/redoc"
	AssetsPath  = "/docs/assets"
)

// Content-Security-Policy of each kind of answer: scripts and styles from
// this server only, nothing inline but styles (both UIs set style attributes
// and ReDoc injects <style> elements), images from data: URIs (icons in the
// CSS), no frames, no forms, no plugins. ReDoc's search runs in a Web Worker it
// builds from a blob: URL. Neither page needs 'unsafe-eval'.
const (
	swaggerCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
		"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	redocCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
		"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	// Documents that are not pages (the JSON, scripts, styles, licenses) may
	// run nothing when opened directly.
	resourceCSP = "default-src 'none'; frame-ancestors 'none'"
)

var (
	//go:embed docs.html redoc.html
	pageFS embed.FS
	//go:embed assets
	assetFS embed.FS
)

// contentTypes are fixed here rather than taken from the system's MIME
// tables, which differ between machines.
var contentTypes = map[string]string{
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".json": "application/json",
	".html": "text/html; charset=utf-8",
	".txt":  "text/plain; charset=utf-8",
}

func contentTypeOf(name string) string {
	if ct, ok := contentTypes[path.Ext(name)]; ok {
		return ct
	}
	return "text/plain; charset=utf-8" // LICENSE and NOTICE files
}

var (
	specFile    = embedded.NewFile("openapi.json", spec, "application/json", resourceCSP)
	swaggerPage = embedded.NewFile("docs.html", embedded.MustRead(pageFS, "docs.html"), contentTypes[".html"], swaggerCSP)
	redocPage   = embedded.NewFile("redoc.html", embedded.MustRead(pageFS, "redoc.html"), contentTypes[".html"], redocCSP)
	assets      = embedded.LoadDir(assetFS, "assets", func(name string) (string, string) {
		return contentTypeOf(name), resourceCSP
	})
)

// Register adds the documentation routes: the OpenAPI document, Swagger UI,
// ReDoc and their assets. They need no authentication.
func Register(r gin.IRoutes) {
	r.GET(SpecPath, specFile.Serve)
	r.GET(SwaggerPath, swaggerPage.Serve)
	r.GET(RedocPath, redocPage.Serve)
	r.GET(AssetsPath+"/*file", assets.Serve)
}
