package redisbus

import (
	"strings"
	"time"
)

// Config says where the broker is and how much of each session it keeps.
type Config struct {
	URL          string        // redis://[user:password@]host:port/db, as redis.ParseURL reads it
	Prefix       string        // starts every key and channel; "chatd" when empty
	ReplayEvents int           // events each session keeps for resume; 2048 when <= 0
	KeyTTL       time.Duration // a session's keys expire this long after its last event; 24h when <= 0
}

// DefaultConfig holds the defaults New applies to unset fields.
var DefaultConfig = Config{Prefix: "chatd", ReplayEvents: 2048, KeyTTL: 24 * time.Hour}

func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = DefaultConfig.Prefix
	}
	if c.ReplayEvents <= 0 {
		c.ReplayEvents = DefaultConfig.ReplayEvents
	}
	if c.KeyTTL <= 0 {
		c.KeyTTL = DefaultConfig.KeyTTL
	}
	return c
}

// keys names what a session has in Redis: the pub/sub channel
// {prefix}:s:{{session}}, and the keys {channel}:seq (its counter) and
// {channel}:ev (its stream). The session id is a hash tag, so both keys the
// publish script touches live in one slot should Redis ever be a cluster.
// Channels and keys are separate namespaces, so the channel's name doubles
// as the keys' stem.
type keys struct {
	sessions  string // what every session channel starts with
	control   string // the channel of Close and cancel requests
	presence  string // what every presence set starts with (see Presence)
	processes string // what every process's liveness key starts with
}

func newKeys(prefix string) keys {
	return keys{sessions: prefix + ":s:{", control: prefix + ":control",
		presence: prefix + ":presence:", processes: prefix + ":process:"}
}

func (k keys) channel(sessionID string) string { return k.sessions + sessionID + "}" }

func (k keys) seq(channel string) string { return channel + ":seq" }

func (k keys) stream(channel string) string { return channel + ":ev" }

func (k keys) sessionOf(channel string) (string, bool) {
	rest, ok := strings.CutPrefix(channel, k.sessions)
	if !ok {
		return "", false
	}
	return strings.CutSuffix(rest, "}")
}
