package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/adapters/llm"
	"github.com/chatd/chatd/internal/domain"
)

// startLLMSim runs the command on a free port until the test ends and
// returns its root URL.
func startLLMSim(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--ttft", "0", "--tps", "0"}, io.Discard,
			func(url string) { urls <- url })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case url := <-urls:
		return url
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("llmsim did not start")
	}
	return ""
}

func TestShowAnswersLikeOllama(t *testing.T) {
	url := startLLMSim(t)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	post := func(body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/api/show", strings.NewReader(body))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var answer map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&answer)
		return resp.StatusCode, answer
	}
	cases := []struct {
		body   string
		status int
		length float64
	}{
		{`{"model":"sim-small"}`, 200, 8192},
		{`{"model":"sim-large+tokens=5+fault=eof"}`, 200, 131072},
		{`{"name":"sim-large"}`, 200, 131072},
		{`{"model":"llama3.2"}`, 404, 0},
		{`{"model":`, 400, 0},
	}
	for _, tc := range cases {
		status, answer := post(tc.body)
		if status != tc.status {
			t.Errorf("%s: status %d, want %d", tc.body, status, tc.status)
			continue
		}
		if status != http.StatusOK {
			if msg, _ := answer["error"].(string); msg == "" {
				t.Errorf("%s: answer %v, want Ollama's {\"error\": ...}", tc.body, answer)
			}
			continue
		}
		info, _ := answer["model_info"].(map[string]any)
		if info["general.architecture"] != "llmsim" || info["llmsim.context_length"] != tc.length {
			t.Errorf("%s: model_info %v, want llmsim.context_length %v", tc.body, info, tc.length)
		}
	}
}

// chatd's LOCAL provider, pointed at llmsim as `make demo` does, lists its
// models with their context lengths.
func TestChatdSeesContextLengths(t *testing.T) {
	url := startLLMSim(t)
	c, err := llm.NewClient(llm.Config{Local: llm.ProviderConfig{BaseURL: url + "/v1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	models, err := c.Models(t.Context(), domain.ProviderLocal)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, m := range models {
		if m.ContextLength != nil {
			got[m.ID] = *m.ContextLength
		}
	}
	if len(models) != 2 || got["sim-small"] != 8192 || got["sim-large"] != 131072 {
		t.Errorf("models %+v, lengths %v", models, got)
	}
}
