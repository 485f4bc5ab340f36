package fakes

import (
	"context"
	"sync"

	"github.com/chatd/chatd/internal/ports"
)

var _ ports.ReplyControl = (*ReplyControl)(nil)

// ReplyControl delivers cancel requests to the handler at once, as one
// process would, and records them.
type ReplyControl struct {
	mu        sync.Mutex
	handler   func(replyID string)
	requested []string
}

// RequestCancel records the request and calls the handler, if set.
func (c *ReplyControl) RequestCancel(_ context.Context, replyID string) error {
	c.mu.Lock()
	c.requested = append(c.requested, replyID)
	fn := c.handler
	c.mu.Unlock()
	if fn != nil {
		fn(replyID)
	}
	return nil
}

// HandleCancels sets the handler.
func (c *ReplyControl) HandleCancels(fn func(replyID string)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.handler = fn
}

// Requested lists the replies whose cancel was requested, in order.
func (c *ReplyControl) Requested() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.requested...)
}
