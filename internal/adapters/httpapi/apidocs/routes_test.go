package apidocs

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

func newEngine() *gin.Engine {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	Register(r)
	return r
}

func get(t *testing.T, r http.Handler, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	return w
}

func TestRoutesServeSpecAndPages(t *testing.T) {
	r := newEngine()
	cases := []struct {
		target, contentType, contains string
	}{
		{"/openapi.json", "application/json", `"openapi": "3.0.3"`},
		{"/docs", "text/html; charset=utf-8", "/docs/assets/swagger-ui-bundle.js"},
		{"/redoc", "text/html; charset=utf-8", `spec-url="/openapi.json"`},
		{"/docs/assets/swagger-ui-bundle.js", "text/javascript; charset=utf-8", "SwaggerUIBundle"},
		{"/docs/assets/swagger-ui.css", "text/css; charset=utf-8", ".swagger-ui"},
		{"/docs/assets/swagger-init.js", "text/javascript; charset=utf-8", `url: "/openapi.json"`},
		{"/docs/assets/redoc.standalone.js", "text/javascript; charset=utf-8", "spec-url"},
		{"/docs/assets/swagger-ui.LICENSE", "text/plain; charset=utf-8", "Apache License"},
		{"/docs/assets/swagger-ui.NOTICE", "text/plain; charset=utf-8", "SmartBear"},
		{"/docs/assets/redoc.LICENSE", "text/plain; charset=utf-8", "MIT License"},
		{"/docs/assets/swagger-ui-bundle.js.LICENSE.txt", "text/plain; charset=utf-8", "@license"},
		{"/docs/assets/redoc.standalone.js.LICENSE.txt", "text/plain; charset=utf-8", "@license"},
	}
	for _, tc := range cases {
		t.Run(tc.target, func(t *testing.T) {
			w := get(t, r, tc.target, nil)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			if got := w.Header().Get("Content-Type"); got != tc.contentType {
				t.Errorf("Content-Type %q, want %q", got, tc.contentType)
			}
			if !strings.Contains(w.Body.String(), tc.contains) {
				t.Errorf("body lacks %q", tc.contains)
			}
			if w.Header().Get("Content-Security-Policy") == "" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("security headers missing")
			}
		})
	}
}

func TestSpecRouteServesSpec(t *testing.T) {
	w := get(t, newEngine(), "/openapi.json", nil)
	if !bytes.Equal(w.Body.Bytes(), Spec()) {
		t.Fatal("/openapi.json differs from Spec()")
	}
}

// The pages load only what this server serves, and nothing inline but styles.
func TestPagesLoadOnlyEmbeddedAssets(t *testing.T) {
	r := newEngine()
	ref := regexp.MustCompile(`(?:src|href)="([^"]+)"`)
	for _, page := range []string{"/docs", "/redoc"} {
		body := get(t, r, page, nil).Body.String()
		if strings.Contains(body, "<script>") || strings.Contains(body, "<style") || strings.Contains(body, "http") {
			t.Errorf("%s: inline script, inline style or absolute URL", page)
		}
		refs := ref.FindAllStringSubmatch(body, -1)
		if len(refs) == 0 {
			t.Errorf("%s: references no asset", page)
		}
		for _, m := range refs {
			if w := get(t, r, m[1], nil); w.Code != http.StatusOK {
				t.Errorf("%s: %s answers %d", page, m[1], w.Code)
			}
		}
	}
}

func TestPagesContentSecurityPolicy(t *testing.T) {
	r := newEngine()
	for _, page := range []string{"/docs", "/redoc"} {
		csp := get(t, r, page, nil).Header().Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self';", "connect-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", page, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "script-src 'self' 'unsafe-inline'") {
			t.Errorf("%s: CSP %q allows evaluated or inline scripts", page, csp)
		}
	}
}

func TestUnknownAssetIsNotFound(t *testing.T) {
	r := newEngine()
	for _, target := range []string{"/docs/assets/nope.js", "/docs/assets/../openapi.json", "/docs/assets/", "/docs/assets/assets/swagger-ui.css"} {
		if w := get(t, r, target, nil); w.Code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", target, w.Code)
		}
	}
}

func TestConditionalRequestsAreCheap(t *testing.T) {
	r := newEngine()
	w := get(t, r, "/docs/assets/swagger-ui-bundle.js", nil)
	etag := w.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	w = get(t, r, "/docs/assets/swagger-ui-bundle.js", http.Header{"If-None-Match": {etag}})
	if w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Fatalf("status %d with %d bytes, want 304 and no body", w.Code, w.Body.Len())
	}
}
