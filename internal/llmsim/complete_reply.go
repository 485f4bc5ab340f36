package llmsim

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

type completion struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []completionChoice `json:"choices"`
	Usage   completionUsage    `json:"usage"`
}

type completionChoice struct {
	Index        int               `json:"index"`
	Message      completionMessage `json:"message"`
	FinishReason string            `json:"finish_reason"`
}

type completionMessage struct {
	Role             string `json:"role"`
	Content          string `json:"content"`
	Reasoning        string `json:"reasoning,omitempty"`
	ReasoningContent string `json:"reasoning_content,omitempty"`
}

type completionUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type errorChunkBody struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// completeReply plays a plan as one chat.completion object, after as long
// as the stream would have taken. It returns the tokens generated.
func completeReply(w *StreamWriter, req *Request, p plan) int {
	if code, ok := p.fault.status(); ok {
		writeAPIError(w, code, faultMessage(code))
		return 0
	}
	tokens, finish := replyFor(req, p)
	if p.fault.midStream() {
		tokens = tokens[:min(p.stallAfter, len(tokens))]
	}
	chunks := len(tokens)
	if p.reasoning {
		chunks += len(reasoningChunks)
	}
	if !sleep(w.Context(), p.ttft+time.Duration(max(chunks-1, 0))*p.interval) {
		return 0
	}
	switch p.fault {
	case FaultStall:
		<-w.Context().Done()
		return 0
	case FaultEOF:
		w.CloseConnection()
		return 0
	case FaultReset:
		w.ResetConnection()
		return 0
	case FaultErrorChunk:
		var e errorChunkBody
		e.Error.Code, e.Error.Message = http.StatusBadGateway, faultMessage(http.StatusBadGateway)
		body, _ := json.Marshal(e)
		w.Status(http.StatusOK, string(body))
		return len(tokens)
	}

	msg := completionMessage{Role: "assistant", Content: strings.Join(tokens, "")}
	if p.reasoning {
		if p.reasoningField == ReasoningContentField {
			msg.ReasoningContent = ExpectedReasoning()
		} else {
			msg.Reasoning = ExpectedReasoning()
		}
	}
	prompt, completed := PromptTokens(req.Messages), chunks
	body, _ := json.Marshal(completion{
		ID:      w.id,
		Object:  "chat.completion",
		Created: req.Received.Unix(),
		Model:   req.Model,
		Choices: []completionChoice{{Message: msg, FinishReason: finish}},
		Usage:   completionUsage{PromptTokens: prompt, CompletionTokens: completed, TotalTokens: prompt + completed},
	})
	w.Status(http.StatusOK, string(body))
	return len(tokens)
}
