package eventbus

import (
	"context"

	"github.com/chatd/chatd/internal/ports"
)

var _ ports.Presence = SoleProcessPresence{}

// SoleProcessPresence is Presence when one process is the whole service:
// a user's first socket on it is their first anywhere, their last is the
// last anywhere.
type SoleProcessPresence struct{}

// Arrive reports first: no other process exists.
func (SoleProcessPresence) Arrive(context.Context, string, string) (bool, error) { return true, nil }

// Depart reports last: no other process exists.
func (SoleProcessPresence) Depart(context.Context, string, string) (bool, error) { return true, nil }
