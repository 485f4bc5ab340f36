package eventbus

import (
	"context"
	"sync"

	"github.com/chatd/chatd/internal/ports"
)

var _ ports.ReplyControl = (*Control)(nil)

// Control is the in-process ReplyControl: one process generates every reply,
// so a cancel request is a call.
type Control struct {
	mu     sync.RWMutex
	cancel func(replyID string)
}

// RequestCancel calls the cancel handler, if one is set.
func (c *Control) RequestCancel(_ context.Context, replyID string) error {
	c.mu.RLock()
	fn := c.cancel
	c.mu.RUnlock()
	if fn != nil {
		fn(replyID)
	}
	return nil
}

// HandleCancels sets the cancel handler.
func (c *Control) HandleCancels(fn func(replyID string)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cancel = fn
}
