package llmsim

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// sseEvent is one SSE event: a comment or a data payload.
type sseEvent struct {
	comment string // the text after ": " for a comment line
	data    string // the payload after "data: "
	at      time.Duration
}

func (e sseEvent) done() bool { return e.data == "[DONE]" }

// readSSE reads events until EOF (nil error) or a read failure. It accepts
// only the exact framing the simulator must produce: "data: " or ": "
// lines, each event followed by one blank line, LF endings.
func readSSE(r io.Reader, start time.Time) ([]sseEvent, error) {
	br := bufio.NewReader(r)
	var events []sseEvent
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) && line == "" {
				return events, nil
			}
			if errors.Is(err, io.EOF) {
				return events, fmt.Errorf("partial line %q", line)
			}
			return events, err
		}
		ev := sseEvent{at: time.Since(start)}
		switch {
		case strings.HasPrefix(line, "data: "):
			ev.data = strings.TrimSuffix(line[len("data: "):], "\n")
		case strings.HasPrefix(line, ": "):
			ev.comment = strings.TrimSuffix(line[len(": "):], "\n")
		default:
			return events, fmt.Errorf("unexpected line %q", line)
		}
		blank, err := br.ReadString('\n')
		if blank != "\n" {
			return events, fmt.Errorf("want a blank line after %q, got %q (%w)", line, blank, err)
		}
		events = append(events, ev)
	}
}

// wireChunk is a chat.completion.chunk as a client decodes it.
type wireChunk struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Role             *string `json:"role"`
			Content          *string `json:"content"`
			Reasoning        *string `json:"reasoning"`
			ReasoningContent *string `json:"reasoning_content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func decodeChunk(data string) (wireChunk, error) {
	var c wireChunk
	err := json.Unmarshal([]byte(data), &c)
	return c, err
}

// streamed sums what a stream carried.
type streamed struct {
	content, reasoning, reasoningContent string
	tokens                               int // content deltas
	finish                               []string
	usage                                int // usage chunks
	errors                               int // error chunks
	done                                 bool
	comments                             int
}

func summarize(events []sseEvent) (streamed, error) {
	var s streamed
	for _, ev := range events {
		if ev.comment != "" {
			s.comments++
			continue
		}
		if s.done {
			return s, fmt.Errorf("event after [DONE]: %q", ev.data)
		}
		if ev.done() {
			s.done = true
			continue
		}
		c, err := decodeChunk(ev.data)
		if err != nil {
			return s, fmt.Errorf("chunk %q: %w", ev.data, err)
		}
		if c.Usage != nil {
			s.usage++
		}
		if c.Error != nil {
			s.errors++
		}
		for _, ch := range c.Choices {
			if d := ch.Delta.Content; d != nil && *d != "" {
				s.content += *d
				s.tokens++
			}
			if d := ch.Delta.Reasoning; d != nil {
				s.reasoning += *d
			}
			if d := ch.Delta.ReasoningContent; d != nil {
				s.reasoningContent += *d
			}
			if ch.FinishReason != nil {
				s.finish = append(s.finish, *ch.FinishReason)
			}
		}
	}
	return s, nil
}
