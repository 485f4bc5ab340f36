package apidocs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// wsFrameSchema is why the schemas of WebSocket frames stay although no
// operation refers to them: OpenAPI 3.0 has no place for the messages of an
// upgraded connection (a 101 answer has no body) nor for the items of a
// text/event-stream (3.2's itemSchema), yet clients generate their frame
// types from these schemas and the WebSocket operation's text names them.
const wsFrameSchema = "a WebSocket frame (or SSE event data) schema: OpenAPI 3.0 cannot attach it to an operation"

// allowedWarnings are the warnings of `redocly lint` left on purpose, by
// rule and JSON pointer. Every other warning, and any error, fails the test;
// so does an entry here that no longer occurs, so the list only shrinks.
var allowedWarnings = map[string]string{
	// The repository declares no license; the document must not invent one.
	"info-license #/info": "chatd has not chosen a license",

	"no-unused-components #/components/schemas/WebSocketFrame":       wsFrameSchema,
	"no-unused-components #/components/schemas/MessageDeltaEvent":    wsFrameSchema,
	"no-unused-components #/components/schemas/SessionSnapshotEvent": wsFrameSchema,
	"no-unused-components #/components/schemas/MessageDeletedEvent":  wsFrameSchema,
	"no-unused-components #/components/schemas/TypingEvent":          wsFrameSchema,
	"no-unused-components #/components/schemas/PresenceEvent":        wsFrameSchema,
	"no-unused-components #/components/schemas/WebSocketErrorEvent":  wsFrameSchema,
	"no-unused-components #/components/schemas/ResumeCommand":        wsFrameSchema,
}

// redoclyReport is the part of `redocly lint --format=json` the test reads.
type redoclyReport struct {
	Problems []struct {
		RuleID   string `json:"ruleId"`
		Severity string `json:"severity"`
		Message  string `json:"message"`
		Location []struct {
			Pointer string `json:"pointer"`
		} `json:"location"`
	} `json:"problems"`
}

// TestRedoclyLint lints the served document with redocly's recommended
// rules (redocly.yaml), with the redocly that `npm ci --prefix test/web`
// installs, as client teams' tooling would.
func TestRedoclyLint(t *testing.T) {
	redocly := redoclyBinary(t)
	config, err := filepath.Abs("redocly.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	spec := filepath.Join(dir, "openapi.json")
	if err := os.WriteFile(spec, Spec(), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, redocly, "lint", "--format=json", "--config", config, spec)
	cmd.Dir = dir
	// A check, not a session: no usage report, no update notice.
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_NOTIFICATIONS=true")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run() // exits 1 when there are errors; the report says which

	var report redoclyReport
	if err := json.Unmarshal(stdout.Bytes(), &report); err != nil {
		t.Fatalf("redocly lint: %v; no JSON report (%v)\nstderr:\n%s", runErr, err, stderr.String())
	}
	var unexpected, seen []string
	for _, p := range report.Problems {
		pointer := ""
		if len(p.Location) > 0 {
			pointer = p.Location[0].Pointer
		}
		key := p.RuleID + " " + pointer
		if p.Severity == "warn" && allowedWarnings[key] != "" {
			seen = append(seen, key)
			continue
		}
		unexpected = append(unexpected, p.Severity+" "+key+": "+p.Message)
	}
	for _, u := range unexpected {
		t.Errorf("redocly: %s", u)
	}
	for key := range allowedWarnings {
		if !slices.Contains(seen, key) {
			t.Errorf("allowed warning %q no longer occurs: remove it from allowedWarnings", key)
		}
	}
	if runErr != nil && len(unexpected) == 0 {
		t.Errorf("redocly lint failed with no problem in its report: %v\nstderr:\n%s", runErr, stderr.String())
	}
}

// redoclyBinary is test/web's redocly, or a skip (a failure when CI
// requires the npm-installed tools) when it is not installed.
func redoclyBinary(t *testing.T) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "test", "web", "node_modules", ".bin", "redocly")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	const why = "redocly is not installed (npm ci --prefix test/web): openapi.json not linted"
	if os.Getenv("CHAT_TEST_REQUIRE_BROWSER") == "1" {
		t.Fatal(why + ", and CHAT_TEST_REQUIRE_BROWSER=1")
	}
	t.Skip(why)
	return ""
}

// moduleRoot is the nearest directory above the package's that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the test's directory")
		}
		dir = parent
	}
}
