package redisbus

import (
	"testing"

	"github.com/chatd/chatd/internal/ports"
	"github.com/chatd/chatd/internal/ports/portstest"
)

func TestSessionEventsContract(t *testing.T) {
	checkNoLeaks(t)
	url := redisURL(t)
	portstest.RunSessionEvents(t, func(t *testing.T) (ports.SessionEvents, ports.ReplyControl) {
		b := openBus(t, Config{URL: url, Prefix: newPrefix(t, url), ReplayEvents: portstest.ReplayWindow})
		return b, b
	})
}

// Two buses on one prefix are two processes of one service.
func TestSessionEventsSharedContract(t *testing.T) {
	checkNoLeaks(t)
	url := redisURL(t)
	portstest.RunSessionEventsShared(t, func(t *testing.T) (a, b ports.SessionEvents, ca, cb ports.ReplyControl) {
		cfg := Config{URL: url, Prefix: newPrefix(t, url), ReplayEvents: portstest.ReplayWindow}
		busA, busB := openBus(t, cfg), openBus(t, cfg)
		return busA, busB, busA, busB
	})
}
