package llmsim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

type wireCompletion struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index   int `json:"index"`
		Message struct {
			Role      string `json:"role"`
			Content   string `json:"content"`
			Reasoning string `json:"reasoning"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
}

func TestNonStreamingCompletion(t *testing.T) {
	h := newHarness(t, Options{ReplyTokens: 12, Reasoning: true})
	resp := h.post(context.Background(), t, chatBody("sim-large", "What is this?", false, false), nil)
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var c wireCompletion
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatal(err)
	}
	if c.Object != "chat.completion" || c.Model != "sim-large" || c.ID == "" || c.Created == 0 || len(c.Choices) != 1 {
		t.Fatalf("completion %s", body)
	}
	ch := c.Choices[0]
	if ch.Message.Role != "assistant" || ch.Message.Content != ExpectedReply("What is this?", 12) ||
		ch.Message.Reasoning != ExpectedReasoning() || ch.FinishReason != "stop" {
		t.Fatalf("choice %+v", ch)
	}
	wantCompletion := 12 + len(ReasoningChunks())
	if c.Usage.PromptTokens != 5 || c.Usage.CompletionTokens != wantCompletion || c.Usage.TotalTokens != 5+wantCompletion {
		t.Fatalf("usage %+v", c.Usage)
	}
}

func TestBadRequests(t *testing.T) {
	h := newHarness(t, fast)
	for name, body := range map[string]string{
		"not JSON":      `{"model":`,
		"no model":      `{"messages":[]}`,
		"bad directive": `{"model":"sim-small+tokens=many"}`,
		"bad content":   `{"model":"sim-small","messages":[{"role":"user","content":42}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			resp := h.post(context.Background(), t, body, nil)
			defer func() { _ = resp.Body.Close() }()
			var e struct {
				Error struct {
					Message string `json:"message"`
					Type    string `json:"type"`
				} `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusBadRequest || e.Error.Message == "" || e.Error.Type != "invalid_request_error" {
				t.Fatalf("status %d error %+v", resp.StatusCode, e.Error)
			}
		})
	}
}

func TestModels(t *testing.T) {
	h := newHarness(t, fast)
	var list struct {
		Object string `json:"object"`
		Data   []struct {
			ID      string `json:"id"`
			Object  string `json:"object"`
			Created int64  `json:"created"`
			OwnedBy string `json:"owned_by"`
		} `json:"data"`
	}
	status := h.getJSON(t, "/v1/models", &list)
	if status != http.StatusOK || list.Object != "list" || len(list.Data) != 2 {
		t.Fatalf("status %d list %+v", status, list)
	}
	for i, id := range []string{ModelSmall, ModelLarge} {
		m := list.Data[i]
		if m.ID != id || m.Object != "model" || m.Created == 0 || m.OwnedBy != "llmsim" {
			t.Fatalf("model %d: %+v", i, m)
		}
	}
}

func TestOnlyV1Routes(t *testing.T) {
	h := newHarness(t, fast)
	if status := h.getJSON(t, "/models", nil); status != http.StatusNotFound {
		t.Fatalf("/models: %d", status)
	}
	if status := h.getJSON(t, "/v1/chat/completions", nil); status != http.StatusMethodNotAllowed {
		t.Fatalf("GET completions: %d", status)
	}
}
