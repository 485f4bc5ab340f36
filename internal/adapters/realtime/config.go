// Package realtime is the session WebSocket: melody connections grouped in
// rooms of our own (one per chat session), each fed by one subscription to
// the session's events, encoded once per event and written to that room's
// sockets only.
package realtime

import "time"

// Config tunes the sockets.
type Config struct {
	AllowedOrigins  []string      // browser origins allowed to connect (requests without Origin are allowed)
	MaxFrameBytes   int64         // largest inbound frame; more closes with 1009
	SendBuffer      int           // frames queued per socket for its writer; a backlog holds more, up to backlogFactor times this
	PingPeriod      time.Duration // how often the server pings
	PongWait        time.Duration // a peer silent this long is dropped
	WriteWait       time.Duration // how long one frame write may block
	TypingTTL       time.Duration // a typing indicator not renewed for this long ends
	TypingPerSecond float64       // typing frames a user may send per second before they are dropped
}

// DefaultConfig is what chatd runs with unless configured otherwise.
var DefaultConfig = Config{
	MaxFrameBytes:   64 << 10,
	SendBuffer:      64,
	PingPeriod:      25 * time.Second,
	PongWait:        30 * time.Second,
	WriteWait:       5 * time.Second,
	TypingTTL:       5 * time.Second,
	TypingPerSecond: 2,
}

func (c Config) withDefaults() Config {
	d := DefaultConfig
	if c.MaxFrameBytes <= 0 {
		c.MaxFrameBytes = d.MaxFrameBytes
	}
	if c.SendBuffer <= 0 {
		c.SendBuffer = d.SendBuffer
	}
	if c.PingPeriod <= 0 {
		c.PingPeriod = d.PingPeriod
	}
	if c.PongWait <= 0 {
		c.PongWait = d.PongWait
	}
	if c.WriteWait <= 0 {
		c.WriteWait = d.WriteWait
	}
	if c.TypingTTL <= 0 {
		c.TypingTTL = d.TypingTTL
	}
	if c.TypingPerSecond <= 0 {
		c.TypingPerSecond = d.TypingPerSecond
	}
	return c
}
