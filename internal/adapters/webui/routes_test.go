package webui

import (
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/chatd/chatd/internal/adapters/httpapi"
)

func newEngine() *gin.Engine {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	newRoutes().Mount(httpapi.RouteGroups{Root: r})
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

func TestPageAndAssetsHaveTheirTypes(t *testing.T) {
	r := newEngine()
	cases := []struct{ target, contentType, contains string }{
		{"/", "text/html; charset=utf-8", `<script type="module" src="/ui/app.js">`},
		{"/ui/app.js", "text/javascript; charset=utf-8", "import * as api from './api.js'"},
		{"/ui/api.js", "text/javascript; charset=utf-8", "export async function login"},
		{"/ui/style.css", "text/css; charset=utf-8", ".messages"},
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
			if got := w.Header().Get("Cache-Control"); got != "no-cache" {
				t.Errorf("Cache-Control %q, want no-cache (revalidate: asset names carry no hash)", got)
			}
			if w.Header().Get("ETag") == "" {
				t.Error("no ETag")
			}
			if !strings.Contains(w.Body.String(), tc.contains) {
				t.Errorf("body lacks %q", tc.contains)
			}
		})
	}
}

func TestEveryAssetHasAKnownType(t *testing.T) {
	for name, a := range loadAssets() {
		if a.ContentType == "" {
			t.Errorf("%s: no content type for %q files", name, path.Ext(name))
		}
	}
}

// The page runs only what this server sends: no inline script or style, no
// eval, no other origin, no framing.
func TestPageContentSecurityPolicyIsStrict(t *testing.T) {
	csp := get(t, newEngine(), "/", nil).Header().Get("Content-Security-Policy")
	directives := map[string]string{}
	for _, d := range strings.Split(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	want := map[string]string{
		"default-src":     "'none'",
		"script-src":      "'self'",
		"style-src":       "'self'",
		"connect-src":     "'self'",
		"base-uri":        "'none'",
		"frame-ancestors": "'none'",
		"form-action":     "'self'",
	}
	for name, value := range want {
		if directives[name] != value {
			t.Errorf("%s is %q, want %q (CSP %q)", name, directives[name], value, csp)
		}
	}
	for _, loose := range []string{"unsafe-inline", "unsafe-eval", "*", "http:", "https:"} {
		if strings.Contains(csp, loose) {
			t.Errorf("CSP %q allows %s", csp, loose)
		}
	}
}

// The CSP forbids inline code, so the markup must not rely on it, and every
// asset it names must exist.
func TestPageHasNoInlineCodeAndItsAssetsExist(t *testing.T) {
	r := newEngine()
	page := get(t, r, "/", nil).Body.String()
	inline := regexp.MustCompile(`<script>|<script [^>]*>[^<]|<style|\sstyle=|\son[a-z]+=|javascript:`)
	if m := inline.FindString(page); m != "" {
		t.Errorf("inline code in the page: %q", m)
	}
	refs := regexp.MustCompile(`(?:src|href)="(/ui/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 2 {
		t.Fatalf("the page names %d assets, want its script and its style", len(refs))
	}
	for _, m := range refs {
		if w := get(t, r, m[1], nil); w.Code != http.StatusOK {
			t.Errorf("%s answers %d", m[1], w.Code)
		}
	}
}

// Modules import each other by relative names; each must exist.
func TestModulesImportOnlyEmbeddedModules(t *testing.T) {
	imports := regexp.MustCompile(`(?m)^import .* from '\./([^']+)';$`)
	assets := loadAssets()
	for name, a := range assets {
		if path.Ext(name) != ".js" {
			continue
		}
		for _, m := range imports.FindAllStringSubmatch(string(a.Body), -1) {
			if _, ok := assets[m[1]]; !ok {
				t.Errorf("%s imports %s, which is not embedded", name, m[1])
			}
		}
	}
}

// The page is a small reference client: a budget keeps it that way.
func TestAssetsStayUnderTheirBudget(t *testing.T) {
	const budget = 60 << 10
	total := 0
	for _, a := range loadAssets() {
		total += len(a.Body)
	}
	if total > budget {
		t.Fatalf("the page's assets weigh %d bytes, over the %d-byte budget", total, budget)
	}
}

func TestUnknownAssetIsNotFound(t *testing.T) {
	r := newEngine()
	for _, target := range []string{"/ui/nope.js", "/ui/", "/ui/../ui/app.js", "/ui/assets/app.js", "/ui/app.js/x"} {
		if w := get(t, r, target, nil); w.Code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", target, w.Code)
		}
	}
}

func TestConditionalRequestIsCheap(t *testing.T) {
	r := newEngine()
	etag := get(t, r, "/ui/app.js", nil).Header().Get("ETag")
	w := get(t, r, "/ui/app.js", http.Header{"If-None-Match": {etag}})
	if w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Fatalf("status %d with %d bytes, want 304 and no body", w.Code, w.Body.Len())
	}
}

// HEAD answers as GET does, without the body (curl -I, link checkers).
func TestHeadAnswersLikeGet(t *testing.T) {
	r := newEngine()
	for _, target := range []string{PagePath, AssetsPath + "/app.js"} {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodHead, target, nil)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		got := get(t, r, target, nil)
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != got.Header().Get("Content-Type") ||
			w.Header().Get("Content-Security-Policy") != got.Header().Get("Content-Security-Policy") {
			t.Errorf("HEAD %s: %d %v, GET: %v", target, w.Code, w.Header(), got.Header())
		}
	}
}
