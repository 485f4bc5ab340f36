package redisbus

import (
	"context"
	"encoding/json"
	"fmt"

	"go.uber.org/zap"
)

// RequestCancel publishes the request on the control channel, which every
// Bus of the service (this one included) hands to its cancel handler. It
// returns once Redis took the request.
func (b *Bus) RequestCancel(ctx context.Context, replyID string) error {
	msg, err := json.Marshal(controlMessage{Cancel: replyID})
	if err != nil {
		return fmt.Errorf("redisbus: cancel reply %s: %w", replyID, err)
	}
	if err := b.client.Publish(ctx, b.keys.control, msg).Err(); err != nil {
		return fmt.Errorf("redisbus: cancel reply %s: %w", replyID, err)
	}
	return nil
}

// HandleCancels sets the function called for every cancel request of the
// service. It runs on the bus's receive loop, so it must return quickly
// (look the reply up and cancel its context).
func (b *Bus) HandleCancels(fn func(replyID string)) {
	if fn == nil {
		b.onCancel.Store(nil)
		return
	}
	b.onCancel.Store(&fn)
}

// onControl handles a message of the control channel.
func (b *Bus) onControl(payload string) {
	var m controlMessage
	if err := json.Unmarshal([]byte(payload), &m); err != nil {
		b.log.Warn("ignoring a malformed control message", zap.String("payload", payload), zap.Error(err))
		return
	}
	if m.Cancel != "" {
		if fn := b.onCancel.Load(); fn != nil {
			(*fn)(m.Cancel)
		}
	}
	if m.Close != "" {
		b.closeLocal(m.Close)
	}
}
