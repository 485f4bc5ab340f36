package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// directStream is one streamed completion read straight from llmsim: the
// path without chatd, measured by the same client in the same run.
type directStream struct {
	first  time.Duration   // request sent -> first content chunk
	gaps   []time.Duration // between content chunks
	chunks int
}

var contentKey = []byte(`"content":"`)

// streamDirect posts a streaming completion to llmsim and reads it to
// [DONE]. It records the gaps between chunks when gaps is true.
func streamDirect(ctx context.Context, client *http.Client, simBase, model, content string, gaps bool) (directStream, error) {
	body, err := json.Marshal(map[string]any{
		"model": model, "stream": true,
		"messages": []map[string]string{{"role": "user", "content": content}},
	})
	if err != nil {
		return directStream{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, simBase+"/v1/chat/completions", bytes.NewReader(body))
	if err != nil {
		return directStream{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return directStream{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return directStream{}, fmt.Errorf("llmsim: %d %s", resp.StatusCode, b)
	}
	var out directStream
	var last time.Time
	rd := newSSEReader(resp.Body)
	for {
		_, data, err := rd.next()
		if errors.Is(err, io.EOF) {
			return out, errors.New("llmsim stream ended without [DONE]")
		}
		if err != nil {
			return out, err
		}
		if bytes.Equal(data, []byte("[DONE]")) {
			return out, nil
		}
		i := bytes.Index(data, contentKey)
		if i < 0 || bytes.HasPrefix(data[i+len(contentKey):], []byte(`"`)) {
			continue // role-only, finish or usage chunk
		}
		now := time.Now()
		if out.chunks == 0 {
			out.first = now.Sub(start)
		} else if gaps {
			out.gaps = append(out.gaps, now.Sub(last))
		}
		last = now
		out.chunks++
	}
}
