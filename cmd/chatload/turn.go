package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// turn is one posted message answered over SSE, as the client saw it.
type turn struct {
	start time.Time       // POST sent
	first time.Duration   // POST sent -> first message.delta
	span  [2]time.Time    // first and last delta
	gaps  []time.Duration // between deltas
	check *replyCheck
}

// sseTurn posts content with Accept: text/event-stream and reads the stream
// to its end, checking the reply against expected. An error means the turn
// could not be read at all (refused, cut); a reply that arrived wrong is in
// the check.
func sseTurn(ctx context.Context, a *api, token, sessionID, content, model, expected string, gaps bool) (turn, error) {
	t := turn{check: newReplyCheck(expected)}
	body := messageBody(content, model)
	start := time.Now()
	t.start = start
	resp, err := a.postSSE(ctx, token, sessionID, body)
	if err != nil {
		return t, err
	}
	defer resp.Body.Close()
	var replyID string
	var last time.Time
	var p frameParser
	rd := newSSEReader(resp.Body)
	for {
		_, data, err := rd.next()
		if errors.Is(err, io.EOF) {
			return t, nil
		}
		if err != nil {
			return t, fmt.Errorf("read stream: %w", err)
		}
		err = p.parse(data, func(f *frame) error {
			switch {
			case f.typ == typeDelta:
				now := time.Now()
				t.span[1] = now
				if t.check.deltas == 0 {
					t.span[0] = now
					t.first = now.Sub(start)
					if replyID == "" {
						replyID = string(f.messageID)
					}
				} else if gaps {
					t.gaps = append(t.gaps, now.Sub(last))
				}
				last = now
				if string(f.messageID) != replyID {
					t.check.fail("delta of message %s in the stream of reply %s", f.messageID, replyID)
					return nil
				}
				t.check.delta(f.index, f.delta)
			case f.typ == typeCreated && f.role == "assistant":
				replyID = string(f.messageID)
			case f.isFinal() && string(f.messageID) == replyID:
				t.check.end(f)
			case f.typ == typeError:
				t.check.fail("error frame %s: %s", f.code, f.detail)
			}
			return nil
		})
		if err != nil {
			return t, err
		}
	}
}
