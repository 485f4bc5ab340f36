// Package web_test checks the web page's API calls against the OpenAPI
// document chatd serves: TypeScript types generated from /openapi.json
// (openapi-typescript), then tsc over the page's modules with checkJs. The
// npm tools live in node_modules here (npm ci --prefix test/web).
package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/test/harness"
)

// assetsDir is the page's modules, from this directory.
const assetsDir = "../../internal/adapters/webui/assets"

// tool is the path of an npm tool, or a skip (a failure when CI requires
// the browser tooling) when node_modules is missing.
func tool(t *testing.T, name string) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("node_modules", ".bin", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err == nil {
		return path
	}
	harness.MissingBrowserTool(t, "no browser tooling: test/web/node_modules is missing (npm ci --prefix test/web)")
	return ""
}

// run runs a tool in dir and returns its combined output and error.
func run(t *testing.T, dir, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// generateTypes writes gen/api.d.ts under dir from the document a real
// chatd serves at /openapi.json.
func generateTypes(t *testing.T, dir string) {
	t.Helper()
	generator := tool(t, "openapi-typescript")
	srv := harness.Start(t, harness.DefaultConfig(t, harness.SQLite))
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/openapi.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /openapi.json: %v", err)
	}
	defer res.Body.Close()
	doc, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json: status %d, %v", res.StatusCode, err)
	}
	spec := filepath.Join(t.TempDir(), "openapi.json")
	if err := os.WriteFile(spec, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "gen"), 0o750); err != nil {
		t.Fatal(err)
	}
	// --default-non-nullable false: a field with a default (role,
	// process_llm) stays optional in request bodies, as the document means.
	if out, err := run(t, dir, generator, spec, "-o", filepath.Join("gen", "api.d.ts"), "--default-non-nullable", "false"); err != nil {
		t.Fatalf("openapi-typescript: %v\n%s", err, out)
	}
}

// The page's modules type-check against the served document: every path,
// method, parameter, request body and response field the page uses exists
// there with that type.
func TestPageTypeChecksAgainstOpenAPI(t *testing.T) {
	tsc := tool(t, "tsc")
	generateTypes(t, ".")
	if out, err := run(t, ".", tsc, "--noEmit", "-p", "."); err != nil {
		t.Fatalf("tsc found type errors in the page's API calls: %v\n%s", err, out)
	}
}

// The check is real: a copy of the page with a misspelt request field, a
// misspelt response field and a path the document lacks fails it, at each
// of the three places.
func TestTypeCheckCatchesMistakes(t *testing.T) {
	tsc := tool(t, "tsc")
	// The same layout as the repository, so the page's import of the
	// generated types resolves: root/internal/adapters/webui/assets and
	// root/test/web.
	root := t.TempDir()
	pageDir := filepath.Join(root, "internal", "adapters", "webui", "assets")
	webDir := filepath.Join(root, "test", "web")
	for _, dir := range []string{pageDir, webDir} {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	generateTypes(t, webDir)
	copyFile(t, "tsconfig.json", filepath.Join(webDir, "tsconfig.json"))
	modules, err := filepath.Glob(filepath.Join(assetsDir, "*.js"))
	if err != nil || len(modules) == 0 {
		t.Fatalf("no modules in %s: %v", assetsDir, err)
	}
	for _, m := range modules {
		copyFile(t, m, filepath.Join(pageDir, filepath.Base(m)))
	}
	mistakes := []struct{ file, from, to string }{
		{"api.js", "display_name: displayName", "displayname: displayName"},
		{"sessions_view.js", "r.snippet", "r.snipet"},
		{"api.js", "'/api/v1/chat/search'", "'/api/v1/chat/serch'"},
	}
	for _, m := range mistakes {
		path := filepath.Join(pageDir, m.file)
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(src, []byte(m.from)) {
			t.Fatalf("%s no longer contains %q: update this test's mistakes", m.file, m.from)
		}
		if err := os.WriteFile(path, bytes.Replace(src, []byte(m.from), []byte(m.to), 1), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err := run(t, webDir, tsc, "--noEmit", "-p", ".")
	if err == nil {
		t.Fatalf("tsc accepted the page with three mistakes:\n%s", out)
	}
	for _, want := range []string{"'displayname'", "'snipet'", `"/api/v1/chat/serch"`} {
		if !strings.Contains(out, want) {
			t.Errorf("tsc did not report %s:\n%s", want, out)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
