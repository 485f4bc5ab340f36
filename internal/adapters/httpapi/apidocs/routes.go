package apidocs

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

	"github.com/chatd/chatd/internal/domain"
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

// file is one embedded answer, ready to serve.
type file struct {
	name        string
	body        []byte
	contentType string
	etag        string
	csp         string
}

func newFile(name string, body []byte, contentType, csp string) *file {
	sum := sha256.Sum256(body)
	return &file{
		name: name, body: body, contentType: contentType, csp: csp,
		etag: `"` + hex.EncodeToString(sum[:12]) + `"`,
	}
}

// serve answers with the file; conditional requests (If-None-Match) get 304.
// Clients revalidate every time (no-cache): the ETag keeps that cheap, and an
// upgraded binary is never hidden behind a stale cache.
func (f *file) serve(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("Content-Security-Policy", f.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.etag)
	http.ServeContent(c.Writer, c.Request, f.name, time.Time{}, bytes.NewReader(f.body))
}

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
	specFile    = newFile("openapi.json", spec, "application/json", resourceCSP)
	swaggerPage = newFile("docs.html", mustRead(pageFS, "docs.html"), contentTypes[".html"], swaggerCSP)
	redocPage   = newFile("redoc.html", mustRead(pageFS, "redoc.html"), contentTypes[".html"], redocCSP)
	assets      = loadAssets()
)

func mustRead(fsys fs.FS, name string) []byte {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		panic("apidocs: embedded file missing: " + err.Error())
	}
	return b
}

func loadAssets() map[string]*file {
	out := map[string]*file{}
	err := fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := strings.TrimPrefix(p, "assets/")
		out[name] = newFile(name, mustRead(assetFS, p), contentTypeOf(name), resourceCSP)
		return nil
	})
	if err != nil {
		panic("apidocs: embedded assets unreadable: " + err.Error())
	}
	return out
}

// Register adds the documentation routes: the OpenAPI document, Swagger UI,
// ReDoc and their assets. They need no authentication.
func Register(r gin.IRoutes) {
	r.GET(SpecPath, specFile.serve)
	r.GET(SwaggerPath, swaggerPage.serve)
	r.GET(RedocPath, redocPage.serve)
	r.GET(AssetsPath+"/*file", serveAsset)
}

func serveAsset(c *gin.Context) {
	f, ok := assets[strings.TrimPrefix(c.Param("file"), "/")]
	if !ok {
		// The error middleware renders the problem; the status stays 404
		// without it.
		c.Status(http.StatusNotFound)
		_ = c.Error(domain.NotFound("asset"))
		c.Abort()
		return
	}
	f.serve(c)
}
