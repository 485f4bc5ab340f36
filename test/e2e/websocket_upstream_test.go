package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/fx"

	"github.com/chatd/chatd/internal/adapters/bootstrap"
	"github.com/chatd/chatd/internal/llmsim"
	"github.com/chatd/chatd/test/harness"
)

// Helpers of the WebSocket tests (websocket*_test.go) carry a ws prefix.

// wsUpstream serves an llmsim simulator on a loopback socket until the test
// ends and points the LOCAL provider of cfg at it. Call it before
// harness.Start: cleanups run in reverse, so the server stops first.
func wsUpstream(t testing.TB, cfg *bootstrap.Config) *llmsim.Server {
	t.Helper()
	sim := llmsim.New(llmsim.Options{DisableRecording: true})
	ts := httptest.NewServer(sim.Handler())
	t.Cleanup(func() {
		sim.Close() // releases stalled handlers before the listener waits for them
		ts.Close()
	})
	cfg.LocalBaseURL = ts.URL + "/v1"
	return sim
}

// wsConfig is a test configuration with the simulator as the LOCAL model and
// no per-user limits on generations: these tests start many replies.
func wsConfig(t testing.TB, d harness.Dialect) bootstrap.Config {
	t.Helper()
	cfg := harness.DefaultConfig(t, d)
	wsUpstream(t, &cfg)
	cfg.RateLimitLLM = 0
	cfg.MaxConcurrentGenerations = 0
	return cfg
}

// wsStart starts chatd like harness.Start.
func wsStart(t testing.TB, cfg bootstrap.Config, extra ...fx.Option) *harness.Server {
	t.Helper()
	return harness.Start(t, cfg, extra...)
}

var wsModelSeq atomic.Int64

// wsModel is a simulator model with directives, e.g. wsModel("tokens=40",
// "tps=200") is "sim-ws-7+tokens=40+tps=200".
func wsModel(directives ...string) string {
	name := fmt.Sprintf("sim-ws-%d", wsModelSeq.Add(1))
	if len(directives) == 0 {
		return name
	}
	return name + "+" + strings.Join(directives, "+")
}

// wsSession creates a titled LOCAL session on the simulator (a title, so
// that no naming request adds a session.updated after the first reply).
func wsSession(t testing.TB, c *harness.Client, model string) string {
	t.Helper()
	return c.Do("POST", "/api/v1/chat/sessions", map[string]any{
		"title": "ws", "llm_provider": "LOCAL", "llm_model": model,
	}).Expect(http.StatusCreated).Map()["id"].(string)
}

// wsSend posts content asking for a reply (model overrides the session's
// when given) and returns the user message's and the reply's ids.
func wsSend(t testing.TB, c *harness.Client, sid, content, model string) (userID, replyID string) {
	t.Helper()
	body := map[string]any{"content": content}
	if model != "" {
		body["llm_model"] = model
	}
	res := c.Do("POST", "/api/v1/chat/sessions/"+sid+"/messages", body).Expect(http.StatusCreated).Map()
	user, _ := res["user_message"].(map[string]any)
	reply, _ := res["assistant_message"].(map[string]any)
	if user == nil || reply == nil {
		t.Fatalf("201 without both messages: %v", res)
	}
	return user["id"].(string), reply["id"].(string)
}

// wsMessages lists a session's messages, oldest first, by id.
func wsMessages(t testing.TB, c *harness.Client, sid string) (byID map[string]map[string]any, order []string) {
	t.Helper()
	byID = map[string]map[string]any{}
	for page := 1; ; page++ {
		body := c.Do("GET", fmt.Sprintf("/api/v1/chat/sessions/%s/messages?page_size=100&page=%d", sid, page), nil).
			Expect(http.StatusOK).Map()
		for _, it := range body["messages"].([]any) {
			m := it.(map[string]any)
			byID[m["id"].(string)] = m
			order = append(order, m["id"].(string))
		}
		if body["has_more"] != true {
			return byID, order
		}
	}
}

// wsStored is one stored message.
func wsStored(t testing.TB, c *harness.Client, sid, id string) map[string]any {
	t.Helper()
	byID, _ := wsMessages(t, c, sid)
	m := byID[id]
	if m == nil {
		t.Fatalf("message %s is not stored in session %s", id, sid)
	}
	return m
}
