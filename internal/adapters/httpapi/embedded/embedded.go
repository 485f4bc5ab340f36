// Package embedded serves files built into the binary (the API
// documentation's pages, the web page's assets): read once at start, each
// with a fixed content type, its own Content-Security-Policy and an ETag.
package embedded

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/chatd/chatd/internal/domain"
)

// File is one embedded answer, ready to serve.
type File struct {
	Name        string
	Body        []byte
	ContentType string
	csp         string
	etag        string
}

// NewFile prepares body to be served as name.
func NewFile(name string, body []byte, contentType, csp string) *File {
	sum := sha256.Sum256(body)
	return &File{Name: name, Body: body, ContentType: contentType, csp: csp,
		etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
}

// Serve answers with the file; If-None-Match gets 304. Clients revalidate
// every time (no-cache): names carry no hash, so a longer cache could pair
// an upgraded page with old scripts, and the ETag keeps revalidation cheap.
func (f *File) Serve(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("Content-Security-Policy", f.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.etag)
	http.ServeContent(c.Writer, c.Request, f.Name, time.Time{}, bytes.NewReader(f.Body))
}

// Dir is a folder of embedded files, by name relative to the folder.
type Dir map[string]*File

// LoadDir reads every file under dir in fsys; describe gives each its
// content type and CSP. An unreadable embedded file is a build mistake: it
// panics.
func LoadDir(fsys fs.FS, dir string, describe func(name string) (contentType, csp string)) Dir {
	out := Dir{}
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := strings.TrimPrefix(p, dir+"/")
		contentType, csp := describe(name)
		out[name] = NewFile(name, MustRead(fsys, p), contentType, csp)
		return nil
	})
	if err != nil {
		panic("embedded files unreadable: " + err.Error())
	}
	return out
}

// Serve answers with the file the route's *file parameter names, or a 404
// problem.
func (d Dir) Serve(c *gin.Context) {
	f, ok := d[strings.TrimPrefix(c.Param("file"), "/")]
	if !ok {
		// The error middleware renders the problem; the status stays 404
		// without it.
		c.Status(http.StatusNotFound)
		_ = c.Error(domain.NotFound("asset"))
		c.Abort()
		return
	}
	f.Serve(c)
}

// MustRead reads an embedded file that must be there.
func MustRead(fsys fs.FS, name string) []byte {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		panic("embedded file missing: " + err.Error())
	}
	return b
}
