package eventbus_test

import (
	"testing"

	"github.com/chatd/chatd/internal/adapters/eventbus"
	"github.com/chatd/chatd/internal/ports"
	"github.com/chatd/chatd/internal/ports/portstest"
)

func TestSoleProcessPresenceContract(t *testing.T) {
	portstest.RunPresence(t, func(_ *testing.T, n int) []ports.Presence {
		if n > 1 {
			return nil
		}
		return []ports.Presence{eventbus.SoleProcessPresence{}}
	})
}
