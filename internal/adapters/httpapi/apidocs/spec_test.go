package apidocs

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
)

func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(Spec())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return doc
}

func TestSpecIsValidOpenAPI303(t *testing.T) {
	doc := loadSpec(t)
	if doc.OpenAPI != "3.0.3" {
		t.Fatalf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	// Validate also checks every example against its schema.
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("validate: %v", err)
	}
}

// The document names no host: every deployment serves it from its own
// origin, which is what a relative "/" server means.
func TestSpecServerIsTheDeploymentItself(t *testing.T) {
	doc := loadSpec(t)
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "/" {
		t.Fatalf("servers = %v, want the relative /", doc.Servers)
	}
}

// In OpenAPI 3.0.3 nullable counts only beside a type: without one, linters
// report an error and code generators drop the null. A nullable reference is
// written {"type": "object", "nullable": true, "allOf": [{"$ref": ...}]},
// which openapi-typescript renders as `X | null`.
func TestNullableSchemasDeclareTheirType(t *testing.T) {
	var doc any
	if err := json.Unmarshal(Spec(), &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(path string, node any)
	walk = func(path string, node any) {
		switch n := node.(type) {
		case map[string]any:
			if n["nullable"] == true && n["type"] == nil {
				t.Errorf("%s: nullable without a type", path)
			}
			for k, v := range n {
				walk(path+"/"+k, v)
			}
		case []any:
			for i, v := range n {
				walk(path+"/"+strconv.Itoa(i), v)
			}
		}
	}
	walk("#", doc)

	reply := loadSpec(t).Components.Schemas["SendMessageResponse"].Value.Properties["assistant_message"].Value
	if !reply.Nullable || !reply.Type.Is("object") || len(reply.AllOf) != 1 ||
		reply.AllOf[0].Ref != "#/components/schemas/ChatMessage" {
		t.Errorf("assistant_message must be a nullable ChatMessage: type %v, nullable %v, %d allOf",
			reply.Type, reply.Nullable, len(reply.AllOf))
	}
}

func TestSpecIsCopied(t *testing.T) {
	a := Spec()
	a[0] = 'x'
	if Spec()[0] == 'x' {
		t.Fatal("Spec returned the embedded slice itself")
	}
}

// contractRoutes lists every route of CONTRACT.md with its success status.
var contractRoutes = []struct {
	method, path string
	success      []int
}{
	{"GET", "/api/v1/health", []int{200}},
	{"GET", "/api/v1/chat/health", []int{200}},
	{"GET", "/api/v1/health/ready", []int{200, 503}},
	{"POST", "/api/v1/auth/register", []int{201}},
	{"POST", "/api/v1/auth/login", []int{200}},
	{"POST", "/api/v1/auth/refresh", []int{200}},
	{"POST", "/api/v1/auth/logout", []int{204}},
	{"GET", "/api/v1/auth/me", []int{200}},
	{"GET", "/api/v1/chat/sessions", []int{200}},
	{"POST", "/api/v1/chat/sessions", []int{201}},
	{"GET", "/api/v1/chat/sessions/{session_id}", []int{200}},
	{"PUT", "/api/v1/chat/sessions/{session_id}", []int{200}},
	{"DELETE", "/api/v1/chat/sessions/{session_id}", []int{204}},
	{"GET", "/api/v1/chat/sessions/{session_id}/participants", []int{200}},
	{"POST", "/api/v1/chat/sessions/{session_id}/participants", []int{201}},
	{"DELETE", "/api/v1/chat/sessions/{session_id}/participants/{user_id}", []int{204}},
	{"GET", "/api/v1/chat/sessions/{session_id}/messages", []int{200}},
	{"POST", "/api/v1/chat/sessions/{session_id}/messages", []int{201, 200}},
	{"PUT", "/api/v1/chat/messages/{message_id}", []int{200}},
	{"POST", "/api/v1/chat/sessions/{session_id}/process-llm", []int{202}},
	{"POST", "/api/v1/chat/messages/{message_id}/cancel", []int{200}},
	{"GET", "/api/v1/chat/stats", []int{200}},
	{"GET", "/api/v1/chat/models", []int{200}},
	{"GET", "/api/v1/chat/sessions/{session_id}/websocket", []int{101}},
	{"DELETE", "/api/v1/chat/messages/{message_id}", []int{204}},
	{"POST", "/api/v1/chat/messages/{message_id}/regenerate", []int{202, 200}},
	{"GET", "/api/v1/chat/search", []int{200}},
	{"GET", "/api/v1/chat/sessions/{session_id}/export", []int{200}},
	{"GET", "/api/v1/chat/export", []int{200}},
	{"POST", "/api/v1/chat/import", []int{201}},
	{"GET", "/metrics", []int{200}},
	{"GET", "/openapi.json", []int{200}},
	{"GET", "/docs", []int{200}},
	{"GET", "/docs/assets/{file}", []int{200}},
	{"GET", "/redoc", []int{200}},
}

func TestSpecHasEveryContractRoute(t *testing.T) {
	doc := loadSpec(t)
	want := map[string]bool{}
	for _, r := range contractRoutes {
		want[r.method+" "+r.path] = true
		item := doc.Paths.Value(r.path)
		if item == nil {
			t.Errorf("%s: path missing", r.path)
			continue
		}
		o := item.GetOperation(r.method)
		if o == nil {
			t.Errorf("%s %s: operation missing", r.method, r.path)
			continue
		}
		for _, code := range r.success {
			if o.Responses.Status(code) == nil {
				t.Errorf("%s %s: no %d response", r.method, r.path, code)
			}
		}
	}
	// And nothing the contract does not have.
	for p, item := range doc.Paths.Map() {
		for m := range item.Operations() {
			if !want[m+" "+p] {
				t.Errorf("%s %s: not in the contract", m, p)
			}
		}
	}
}

// publicOps need no token.
var publicOps = []string{
	"getHealth", "getChatHealth", "getReadiness", "register", "login", "refreshTokens", "logout",
	"getMetrics", "getOpenAPIDocument", "getSwaggerUI", "getRedoc", "getDocsAsset",
}

var tags = []string{"health", "auth", "sessions", "participants", "messages", "realtime", "stats", "models", "search",
	"import-export", "ops"}

func TestEveryOperationFollowsTheConventions(t *testing.T) {
	doc := loadSpec(t)
	seen := map[string]bool{}
	for p, item := range doc.Paths.Map() {
		for m, o := range item.Operations() {
			name := m + " " + p
			if o.OperationID == "" || seen[o.OperationID] {
				t.Errorf("%s: operationId %q missing or not unique", name, o.OperationID)
			}
			seen[o.OperationID] = true
			if len(o.Tags) != 1 || !slices.Contains(tags, o.Tags[0]) {
				t.Errorf("%s: tags %v, want one of %v", name, o.Tags, tags)
			}
			if o.Summary == "" || strings.Contains(o.Summary, "\n") {
				t.Errorf("%s: summary must be one line", name)
			}
			checkSecurity(t, doc, name, o)
			checkResponses(t, name, p, o)
		}
	}
	for _, id := range publicOps {
		if !seen[id] {
			t.Errorf("public operation %s missing", id)
		}
	}
}

func checkSecurity(t *testing.T, doc *openapi3.T, name string, o *openapi3.Operation) {
	t.Helper()
	sec := doc.Security
	if o.Security != nil {
		sec = *o.Security
	}
	public := slices.Contains(publicOps, o.OperationID)
	switch {
	case public && len(sec) != 0:
		t.Errorf("%s: public, but requires %v", name, sec)
	case !public && (len(sec) == 0 || sec[0]["bearerAuth"] == nil):
		t.Errorf("%s: must require bearerAuth, has %v", name, sec)
	}
}

func checkResponses(t *testing.T, name, path string, o *openapi3.Operation) {
	t.Helper()
	has := func(code int) bool { return o.Responses.Status(code) != nil }
	if o.Responses.Default() == nil || !has(500) {
		t.Errorf("%s: needs a default and a 500 response", name)
	}
	api := strings.HasPrefix(path, "/api/v1/") && !strings.Contains(path, "health")
	if api && !has(429) {
		t.Errorf("%s: needs a 429 response", name)
	}
	if api && !slices.Contains(publicOps, o.OperationID) && !has(401) {
		t.Errorf("%s: authenticated, needs a 401 response", name)
	}
	if strings.HasPrefix(path, "/api/v1/") && strings.Contains(path, "{") && (!has(400) || !has(404)) {
		t.Errorf("%s: has path ids, needs 400 and 404 responses", name)
	}
	if o.RequestBody != nil {
		for _, c := range []int{400, 413, 415, 422} {
			if !has(c) {
				t.Errorf("%s: takes a JSON body, needs a %d response", name, c)
			}
		}
		if o.RequestBody.Value.Content.Get("application/json") == nil {
			t.Errorf("%s: request body must be application/json", name)
		}
	}
	for code, ref := range o.Responses.Map() {
		r := ref.Value
		if h := r.Headers["X-Request-ID"]; h == nil || !h.Value.Required {
			t.Errorf("%s %s: must document a required X-Request-ID header", name, code)
		}
		n, _ := strconv.Atoi(code)
		if code != "default" && n < 400 {
			continue
		}
		if name == "GET /api/v1/health/ready" && code == "503" {
			continue // answers Ready, for load balancers
		}
		mt := r.Content.Get("application/problem+json")
		if len(r.Content) != 1 || mt == nil || mt.Schema.Ref != "#/components/schemas/Problem" {
			t.Errorf("%s %s: errors must be application/problem+json Problem", name, code)
		}
		if code == "429" {
			if h := r.Headers["Retry-After"]; h == nil || !h.Value.Required {
				t.Errorf("%s 429: must document a required Retry-After header", name)
			}
		}
	}
}

func TestGenerationErrorsAreDocumented(t *testing.T) {
	doc := loadSpec(t)
	op := func(method, path string) *openapi3.Operation {
		return doc.Paths.Value(path).GetOperation(method)
	}
	send := op("POST", "/api/v1/chat/sessions/{session_id}/messages")
	process := op("POST", "/api/v1/chat/sessions/{session_id}/process-llm")
	models := op("GET", "/api/v1/chat/models")
	if process.Responses.Status(202) == nil {
		t.Error("process-llm: needs a 202 response")
	}
	for name, o := range map[string]*openapi3.Operation{"send": send, "models": models} {
		for _, c := range []int{502, 503, 504} {
			if o.Responses.Status(c) == nil {
				t.Errorf("%s: needs a %d response", name, c)
			}
		}
	}
	if send.Responses.Status(200).Value.Content.Get("text/event-stream") == nil {
		t.Error("send: 200 must offer text/event-stream")
	}
	if p := send.Parameters.GetByInAndName("header", "Idempotency-Key"); p == nil {
		t.Error("send: Idempotency-Key header missing")
	}
	if p := send.Parameters.GetByInAndName("query", "wait"); p == nil || !p.Schema.Value.Type.Is("boolean") {
		t.Error("send: wait must be a boolean query parameter")
	}
}

// Regenerating answers like a post: 202 in the background, 200 when waited
// for or streamed, and the post's errors when the finished reply is not one.
func TestRegenerateIsDocumentedLikeAPost(t *testing.T) {
	doc := loadSpec(t)
	o := doc.Paths.Value("/api/v1/chat/messages/{message_id}/regenerate").GetOperation("POST")
	for _, c := range []int{202, 200, 403, 409, 502, 503} {
		if o.Responses.Status(c) == nil {
			t.Errorf("regenerate: needs a %d response", c)
		}
	}
	if o.Responses.Status(200).Value.Content.Get("text/event-stream") == nil {
		t.Error("regenerate: 200 must offer text/event-stream")
	}
	if p := o.Parameters.GetByInAndName("query", "wait"); p == nil || !p.Schema.Value.Type.Is("boolean") {
		t.Error("regenerate: wait must be a boolean query parameter")
	}
	if o.RequestBody.Value.Required {
		t.Error("regenerate: the body is optional")
	}
}

// The query parameters of the tree, search, export and import routes.
func TestNewQueryParametersAreDocumented(t *testing.T) {
	doc := loadSpec(t)
	param := func(method, path, in, name string) *openapi3.Parameter {
		t.Helper()
		p := doc.Paths.Value(path).GetOperation(method).Parameters.GetByInAndName(in, name)
		if p == nil {
			t.Errorf("%s %s: %s parameter %s missing", method, path, in, name)
		}
		return p
	}
	enumOf := func(p *openapi3.Parameter) []any {
		if p == nil {
			return nil
		}
		return p.Schema.Value.Enum
	}
	if p := param("GET", "/api/v1/chat/sessions/{session_id}/messages", "query", "branch"); p != nil &&
		(!slices.Equal(enumOf(p), []any{"current", "all"}) || p.Schema.Value.Default != "current") {
		t.Errorf("branch: enum %v default %v, want current|all defaulting to current", enumOf(p), p.Schema.Value.Default)
	}
	if p := param("GET", "/api/v1/chat/sessions/{session_id}/export", "query", "format"); p != nil &&
		(!slices.Equal(enumOf(p), []any{"json", "markdown"}) || p.Schema.Value.Default != "json") {
		t.Errorf("format: enum %v default %v, want json|markdown defaulting to json", enumOf(p), p.Schema.Value.Default)
	}
	if q := param("GET", "/api/v1/chat/search", "query", "q"); q != nil && (!q.Required || q.Schema.Value.MaxLength == nil || *q.Schema.Value.MaxLength != 200) {
		t.Error("search: q must be required, at most 200 characters")
	}
	param("GET", "/api/v1/chat/search", "query", "session_id")
	for _, name := range []string{"llm_provider", "llm_model"} {
		if p := param("POST", "/api/v1/chat/import", "query", name); p != nil && !p.Required {
			t.Errorf("import: %s must be required", name)
		}
	}
	param("POST", "/api/v1/chat/import", "header", "Idempotency-Key")
}

// schemaCase validates a JSON value against a component schema.
type schemaCase struct {
	schema, name, value string
	ok                  bool
}

const (
	uid  = `"0190d3f6-54a1-7c2e-9b1f-3a4c5d6e7f80"`
	ts   = `"2026-11-25T14:38:27.742Z"`
	user = `{"id":` + uid + `,"email":"a@example.com","display_name":"A","role":"user","created_at":` + ts + `}`
	sess = `{"id":` + uid + `,"user_id":` + uid + `,"title":"","llm_provider":"LOCAL","llm_model":"m","settings":{},` +
		`"is_active":true,"created_at":` + ts + `,"updated_at":` + ts + `,"message_count":0,"last_message_at":null,` +
		`"current_message_id":null}`
	msg = `{"id":` + uid + `,"session_id":` + uid + `,"user_id":` + uid + `,"parent_id":null,"role":"assistant",` +
		`"content":"","llm_provider":"OPENROUTER","llm_model":"a/b","response_time_ms":null,"tokens_used":null,` +
		`"error_message":null,"is_streaming":false,"status":"pending","message_metadata":{"any":{"thing":[1]}},` +
		`"created_at":` + ts + `,"updated_at":` + ts + `}`
	found   = `{"message":` + msg + `,"session_id":` + uid + `,"session_title":"T","snippet":"a match"}`
	results = `{"results":[` + found + `],"page":1,"page_size":20,"total_count":1,"has_more":false}`
	// exported is a chatd.v1 export of one session holding one message.
	exported = `{"format":"chatd.v1","exported_at":` + ts + `,"sessions":[{"title":"T","llm_provider":"LOCAL",` +
		`"llm_model":"m","settings":{},"created_at":` + ts + `,"current_message_id":` + uid + `,"messages":[` +
		`{"id":` + uid + `,"parent_id":null,"role":"user","content":"hi","status":"completed",` +
		`"llm_provider":"LOCAL","llm_model":"m","tokens_used":null,"message_metadata":{},"created_at":` + ts + `}]}]}`
	imported = `{"sessions":[{"id":` + uid + `,"title":"T","message_count":2}],"skipped":[{"index":1,"reason":"r"}]}`
)

// listed is a message as lists show it, with its siblings.
var listed = `{"sibling_ids":[` + uid + `],` + msg[1:]

var schemaCases = []schemaCase{
	{"User", "user", user, true},
	{"User", "unknown role", strings.Replace(user, `"user"`, `"root"`, 1), false},
	{"User", "upper-case id", strings.Replace(user, "0190d3f6-54a1", "0190D3F6-54A1", 1), false},
	{"User", "timestamp without milliseconds", strings.Replace(user, ".742Z", "Z", 1), false},
	{"User", "timestamp not in UTC", strings.Replace(user, ".742Z", ".742+01:00", 1), false},
	{"User", "extra field", strings.Replace(user, `{`, `{"password_hash":"x",`, 1), false},
	{"ChatSession", "session", sess, true},
	{"ChatSession", "missing message_count", strings.Replace(sess, `"message_count":0,`, ``, 1), false},
	{"ChatSession", "unknown provider", strings.Replace(sess, `"LOCAL"`, `"local"`, 1), false},
	{"ChatMessage", "message", msg, true},
	{"ChatMessage", "tokens_used 0", strings.Replace(msg, `"tokens_used":null`, `"tokens_used":0`, 1), false},
	{"ChatMessage", "unknown status", strings.Replace(msg, `"pending"`, `"done"`, 1), false},
	{"SendMessageResponse", "no reply", `{"user_message":` + msg + `,"assistant_message":null}`, true},
	{"SendMessageResponse", "with reply", `{"user_message":` + msg + `,"assistant_message":` + msg + `}`, true},
	{"SendMessageResponse", "reply missing", `{"user_message":` + msg + `}`, false},
	{"SessionSettings", "all", `{"system_prompt":"s","temperature":2,"top_p":1,"max_tokens":1,"max_context_messages":1000,"stop":["a"],"fallback_models":["x/y"]}`, true},
	{"SessionSettings", "top_p 0", `{"top_p":0}`, false},
	{"SessionSettings", "temperature 2.1", `{"temperature":2.1}`, false},
	{"SessionSettings", "five stops", `{"stop":["a","b","c","d","e"]}`, false},
	{"SessionSettings", "unknown key", `{"temprature":1}`, false},
	{"Problem", "minimal", `{"type":"urn:chatd:problem:x","title":"Not Found","status":404,"detail":"session not found","instance":"/api/v1/chat/sessions/x","request_id":"r"}`, true},
	{"Problem", "detail not a string", `{"type":"t","title":"t","status":422,"detail":{"a":1}}`, false},
	{"Problem", "field errors", `{"type":"t","title":"t","status":422,"detail":"d","errors":[{"field":"f","message":"m"}]}`, true},
	{"AddParticipantRequest", "by email", `{"email":"b@example.com","role":"viewer"}`, true},
	{"AddParticipantRequest", "by id", `{"user_id":` + uid + `,"role":"member"}`, true},
	{"AddParticipantRequest", "both", `{"user_id":` + uid + `,"email":"b@example.com","role":"member"}`, false},
	{"AddParticipantRequest", "neither", `{"role":"member"}`, false},
	{"AddParticipantRequest", "owner", `{"email":"b@example.com","role":"owner"}`, false},
	{"SendMessageRequest", "assistant role", `{"content":"hi","role":"assistant"}`, false},
	{"SendMessageRequest", "empty content", `{"content":""}`, false},
	{"SendMessageRequest", "user_id smuggled", `{"content":"hi","user_id":` + uid + `}`, false},
	{"Stats", "stats", `{"total_sessions":1,"active_sessions":1,"total_messages":2,"messages_by_role":{"user":1,"assistant":1,"system":0},"total_tokens":10,"avg_response_time_ms":12.5,"by_model":[{"llm_provider":"LOCAL","llm_model":"m","messages":1,"tokens":10,"avg_response_time_ms":12.5}],"active_connections":0}`, true},
	{"ModelList", "no context length", `{"models":[{"id":"llama3.2","name":"llama3.2"},{"id":"x","name":"x","context_length":null}]}`, true},
	{"Health", "health", `{"status":"healthy","version":"1.2.3-rc.1"}`, true},
	{"Ready", "not ready", `{"status":"not_ready"}`, true},
	// The conversation tree, search, export and import.
	{"ChatSession", "on a branch", strings.Replace(sess, `"current_message_id":null`, `"current_message_id":`+uid, 1), true},
	{"ChatSession", "missing current_message_id", strings.Replace(sess, `,"current_message_id":null`, ``, 1), false},
	{"ChatMessage", "listed", listed, true},
	{"ChatMessage", "no siblings", strings.Replace(listed, `[`+uid+`]`, `[]`, 1), false},
	{"ChatMessage", "sibling not a uuid", strings.Replace(listed, `[`+uid+`]`, `["x"]`, 1), false},
	{"MessageList", "listed", `{"messages":[` + listed + `],"page":1,"page_size":20,"total_count":1,"has_more":false}`, true},
	{"SendMessageRequest", "new root", `{"content":"hi","parent_id":null}`, true},
	{"SendMessageRequest", "under a parent", `{"content":"hi","parent_id":` + uid + `}`, true},
	{"SendMessageRequest", "parent not a uuid", `{"content":"hi","parent_id":"x"}`, false},
	{"UpdateSessionRequest", "switch branch", `{"current_message_id":` + uid + `}`, true},
	{"UpdateSessionRequest", "switch to nothing", `{"current_message_id":null}`, false},
	{"RegenerateRequest", "empty", `{}`, true},
	{"RegenerateRequest", "another model", `{"llm_provider":"OPENROUTER","llm_model":"a/b","settings":{"temperature":1}}`, true},
	{"RegenerateRequest", "content smuggled", `{"content":"hi"}`, false},
	{"RegenerateResponse", "reply", `{"assistant_message":` + msg + `}`, true},
	{"RegenerateResponse", "no reply", `{"assistant_message":null}`, false},
	{"SearchResultList", "one match", results, true},
	{"SearchResultList", "snippet too long", strings.Replace(results, "a match", strings.Repeat("x", 201), 1), false},
	{"SearchResultList", "missing session_title", strings.Replace(results, `"session_title":"T",`, ``, 1), false},
	{"ChatdExport", "one session", exported, true},
	{"ChatdExport", "nothing", `{"format":"chatd.v1","exported_at":` + ts + `,"sessions":[]}`, true},
	{"ChatdExport", "another format", strings.Replace(exported, "chatd.v1", "chatd.v2", 1), false},
	{"ChatdExport", "session id leaked", strings.Replace(exported, `{"title"`, `{"id":`+uid+`,"title"`, 1), false},
	{"ChatdExport", "message without parent_id", strings.Replace(exported, `"parent_id":null,`, ``, 1), false},
	{"ImportResult", "imported", imported, true},
	{"ImportResult", "negative index", strings.Replace(imported, `"index":1`, `"index":-1`, 1), false},
	{"ImportResult", "missing skipped", `{"sessions":[]}`, false},
	{"MessageDeletedEvent", "deleted", `{"message_id":` + uid + `,"deleted_ids":[` + uid + `]}`, true},
	{"MessageDeletedEvent", "nothing deleted", `{"message_id":` + uid + `,"deleted_ids":[]}`, false},
	{"WebSocketFrame", "message.deleted", `{"type":"message.deleted","session_id":` + uid + `,"seq":3,"data":{"message_id":` + uid + `,"deleted_ids":[` + uid + `]}}`, true},
}

func TestSchemasHoldTheContract(t *testing.T) {
	doc := loadSpec(t)
	for _, tc := range schemaCases {
		t.Run(tc.schema+"/"+tc.name, func(t *testing.T) {
			ref := doc.Components.Schemas[tc.schema]
			if ref == nil {
				t.Fatalf("schema %s missing", tc.schema)
			}
			var v any
			if err := json.Unmarshal([]byte(tc.value), &v); err != nil {
				t.Fatalf("test value: %v", err)
			}
			err := ref.Value.VisitJSON(v, openapi3.MultiErrors())
			if tc.ok && err != nil {
				t.Fatalf("want valid, got %v", err)
			}
			if !tc.ok && err == nil {
				t.Fatal("want invalid, got valid")
			}
		})
	}
}

// TestResponsesValidateWithOpenAPI3Filter checks the document works the way
// the handler tests use it: openapi3filter.ValidateResponse against a route.
func TestResponsesValidateWithOpenAPI3Filter(t *testing.T) {
	doc := loadSpec(t)
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	sid := strings.Trim(uid, `"`)
	attachment := http.Header{"X-Request-Id": {"r"}, "Content-Disposition": {`attachment; filename="t.json"`}}
	cases := []struct {
		name, method, target string
		status               int
		contentType, body    string
		header               http.Header
		ok                   bool
	}{
		{"health", "GET", "/api/v1/health", 200, "application/json; charset=utf-8", `{"status":"healthy","version":"0.1.0"}`, nil, true},
		{"no request id", "GET", "/api/v1/health", 200, "application/json", `{"status":"healthy","version":"0.1.0"}`, http.Header{}, false},
		{"problem", "POST", "/api/v1/chat/sessions", 422, "application/problem+json",
			`{"type":"urn:chatd:problem:invalid-field","title":"Unprocessable Entity","status":422,"detail":"d","instance":"/api/v1/chat/sessions","request_id":"r","errors":[{"field":"llm_provider","message":"m"}]}`, nil, true},
		{"problem as plain json", "POST", "/api/v1/chat/sessions", 422, "application/json", `{"type":"t","title":"t","status":422,"detail":"d"}`, nil, false},
		{"429 without Retry-After", "GET", "/api/v1/auth/me", 429, "application/problem+json", `{"type":"t","title":"t","status":429,"detail":"d"}`, nil, false},
		{"429", "GET", "/api/v1/auth/me", 429, "application/problem+json", `{"type":"t","title":"t","status":429,"detail":"d"}`,
			http.Header{"X-Request-Id": {"r"}, "Retry-After": {"3"}}, true},
		{"sent", "POST", "/api/v1/chat/sessions/" + sid + "/messages", 201, "application/json", `{"user_message":` + msg + `,"assistant_message":` + msg + `}`, nil, true},
		{"waited", "POST", "/api/v1/chat/sessions/" + sid + "/messages?wait=true", 200, "application/json", `{"user_message":` + msg + `,"assistant_message":null}`, nil, true},
		{"sse", "POST", "/api/v1/chat/sessions/" + sid + "/messages", 200, "text/event-stream", "event: message.delta\ndata: {}\n\n", nil, true},
		{"metrics", "GET", "/metrics", 200, "text/plain; version=0.0.4; charset=utf-8", "# HELP x\nx 1\n", nil, true},
		{"websocket", "GET", "/api/v1/chat/sessions/" + sid + "/websocket", 101, "", "", nil, true},
		{"all branches", "GET", "/api/v1/chat/sessions/" + sid + "/messages?branch=all", 200, "application/json",
			`{"messages":[` + listed + `],"page":1,"page_size":20,"total_count":1,"has_more":false}`, nil, true},
		{"message deleted", "DELETE", "/api/v1/chat/messages/" + sid, 204, "", "", nil, true},
		{"regenerating", "POST", "/api/v1/chat/messages/" + sid + "/regenerate", 202, "application/json", `{"assistant_message":` + msg + `}`, nil, true},
		{"regenerated", "POST", "/api/v1/chat/messages/" + sid + "/regenerate?wait=true", 200, "application/json", `{"assistant_message":` + msg + `}`, nil, true},
		{"regenerate sse", "POST", "/api/v1/chat/messages/" + sid + "/regenerate", 200, "text/event-stream", "event: message.created\ndata: {}\n\n", nil, true},
		{"regenerate failed", "POST", "/api/v1/chat/messages/" + sid + "/regenerate?wait=true", 502, "application/problem+json",
			`{"type":"urn:chatd:problem:reply-failed","title":"Bad Gateway","status":502,"detail":"d"}`, nil, true},
		{"regenerate still generating", "POST", "/api/v1/chat/messages/" + sid + "/regenerate", 409, "application/problem+json",
			`{"type":"urn:chatd:problem:message-not-finished","title":"Conflict","status":409,"detail":"d"}`, nil, true},
		{"search", "GET", "/api/v1/chat/search?q=hel", 200, "application/json", results, nil, true},
		{"export", "GET", "/api/v1/chat/sessions/" + sid + "/export", 200, "application/json", exported, attachment, true},
		{"export without a file name", "GET", "/api/v1/chat/sessions/" + sid + "/export", 200, "application/json", exported, nil, false},
		{"export as markdown", "GET", "/api/v1/chat/sessions/" + sid + "/export?format=markdown", 200, "text/markdown; charset=utf-8", "# T\n", attachment, true},
		{"export everything", "GET", "/api/v1/chat/export", 200, "application/json", exported, nil, true},
		{"import", "POST", "/api/v1/chat/import?llm_provider=LOCAL&llm_model=m", 201, "application/json", imported, nil, true},
		{"import too large", "POST", "/api/v1/chat/import?llm_provider=LOCAL&llm_model=m", 413, "application/problem+json",
			`{"type":"urn:chatd:problem:body-too-large","title":"Request Entity Too Large","status":413,"detail":"d"}`, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequestWithContext(t.Context(), tc.method, tc.target, nil)
			route, params, err := router.FindRoute(req)
			if err != nil {
				t.Fatalf("find route: %v", err)
			}
			h := tc.header
			if h == nil {
				h = http.Header{"X-Request-Id": {"0123456789ab"}}
			}
			h = h.Clone()
			if tc.contentType != "" {
				h.Set("Content-Type", tc.contentType)
			}
			in := &openapi3filter.ResponseValidationInput{
				RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
				Status:                 tc.status,
				Header:                 h,
				Body:                   io.NopCloser(bytes.NewBufferString(tc.body)),
				Options:                &openapi3filter.Options{IncludeResponseStatus: true},
			}
			err = openapi3filter.ValidateResponse(t.Context(), in)
			if tc.ok && err != nil {
				t.Fatalf("want valid, got %v", err)
			}
			if !tc.ok && err == nil {
				t.Fatal("want invalid, got valid")
			}
		})
	}
}
