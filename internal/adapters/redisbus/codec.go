package redisbus

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/chatd/chatd/internal/domain"
)

// wireEvent is a domain.SessionEvent as Redis holds it: JSON with short
// names and no empty payloads (a stream keeps thousands of events per
// session in RAM, and every one of them would otherwise carry six nulls).
// The seq is not in it: the stream entry's id and the pub/sub frame carry
// it, because the publish script gives it out after the event is encoded.
// TestWireEventMirrorsSessionEvent keeps the two structs in step.
type wireEvent struct {
	Type      domain.EventType           `json:"type"`
	SessionID string                     `json:"session_id"`
	Message   *domain.MessageSnapshot    `json:"message,omitempty"`
	Delta     *domain.MessageDelta       `json:"delta,omitempty"`
	Session   *domain.SessionSnapshot    `json:"session,omitempty"`
	Typing    *domain.TypingSignal       `json:"typing,omitempty"`
	Presence  *domain.PresenceSignal     `json:"presence,omitempty"`
	Removed   *domain.RemovedParticipant `json:"removed,omitempty"`
	Deleted   *domain.DeletedMessages    `json:"deleted,omitempty"`
}

// encodeEvent is e without its seq, as JSON. It fails only on payloads JSON
// cannot hold (a channel or a function in a message's metadata).
func encodeEvent(e domain.SessionEvent) ([]byte, error) {
	data, err := json.Marshal(wireEvent{
		Type: e.Type, SessionID: e.SessionID, Message: e.Message, Delta: e.Delta, Session: e.Session,
		Typing: e.Typing, Presence: e.Presence, Removed: e.Removed, Deleted: e.Deleted,
	})
	if err != nil {
		return nil, fmt.Errorf("encode a %s event: %w", e.Type, err)
	}
	return data, nil
}

// decodeEvent reverses encodeEvent. Numbers in a message's metadata come
// back as float64, as from any JSON store.
func decodeEvent(body string, seq int64) (domain.SessionEvent, error) {
	var w wireEvent
	if err := json.Unmarshal([]byte(body), &w); err != nil {
		return domain.SessionEvent{}, fmt.Errorf("decode the event of seq %d: %w", seq, err)
	}
	return domain.SessionEvent{
		Type: w.Type, SessionID: w.SessionID, Seq: seq, Message: w.Message, Delta: w.Delta, Session: w.Session,
		Typing: w.Typing, Presence: w.Presence, Removed: w.Removed, Deleted: w.Deleted,
	}, nil
}

// A pub/sub frame on a session's channel is one kind byte, the seq in
// decimal (none for a signal), a space and the encoded event. The publish
// script writes the ordered kinds; Signal writes signals.
const (
	frameEvent  = 'e' // an ordered event
	frameFirst  = 'f' // the first event of a fresh seq counter (see room.onFrameLocked)
	frameSignal = 's' // a best-effort event without a seq
)

type frame struct {
	kind byte
	seq  int64
	body string
}

var errBadFrame = errors.New("malformed pub/sub frame")

func parseFrame(payload string) (frame, error) {
	sp := strings.IndexByte(payload, ' ')
	if sp < 1 {
		return frame{}, errBadFrame
	}
	f := frame{kind: payload[0], body: payload[sp+1:]}
	switch f.kind {
	case frameSignal:
		if sp != 1 {
			return frame{}, errBadFrame
		}
	case frameEvent, frameFirst:
		seq, err := strconv.ParseInt(payload[1:sp], 10, 64)
		if err != nil || seq <= 0 {
			return frame{}, errBadFrame
		}
		f.seq = seq
	default:
		return frame{}, errBadFrame
	}
	return f, nil
}

func signalFrame(body []byte) []byte {
	out := make([]byte, 0, len(body)+2)
	out = append(out, frameSignal, ' ')
	return append(out, body...)
}

// streamEntry is one entry of a session's stream: id "<seq>-0", field
// "e" holding the encoded event, and field "f" on a counter's first event.
type streamEntry struct {
	seq   int64
	first bool
	body  string
}

// parseEntries reads XRANGE's reply as a Lua script passes it on: a list of
// [id, [field, value, ...]].
func parseEntries(reply any) ([]streamEntry, error) {
	list, ok := reply.([]any)
	if !ok {
		return nil, fmt.Errorf("stream entries: unexpected reply %T", reply)
	}
	out := make([]streamEntry, 0, len(list))
	for _, item := range list {
		pair, ok := item.([]any)
		if !ok || len(pair) != 2 {
			return nil, fmt.Errorf("stream entry: unexpected reply %v", item)
		}
		id, _ := pair[0].(string)
		ms, _, _ := strings.Cut(id, "-")
		seq, err := strconv.ParseInt(ms, 10, 64)
		if err != nil || seq <= 0 {
			return nil, fmt.Errorf("stream entry: bad id %q", id)
		}
		fields, ok := pair[1].([]any)
		if !ok {
			return nil, fmt.Errorf("stream entry %s: unexpected fields %T", id, pair[1])
		}
		en := streamEntry{seq: seq}
		for i := 0; i+1 < len(fields); i += 2 {
			name, _ := fields[i].(string)
			value, _ := fields[i+1].(string)
			switch name {
			case "e":
				en.body = value
			case "f":
				en.first = true
			}
		}
		if en.body == "" {
			return nil, fmt.Errorf("stream entry %s has no event", id)
		}
		out = append(out, en)
	}
	return out, nil
}

// controlMessage travels on {prefix}:control to every Bus of the service.
type controlMessage struct {
	Cancel string `json:"cancel,omitempty"` // a reply to stop generating
	Close  string `json:"close,omitempty"`  // a session whose subscriptions end
}
