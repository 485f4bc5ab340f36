package wire

import (
	"encoding/json"
	"fmt"

	"github.com/chatd/chatd/internal/domain"
)

// Frame is the envelope of every event on the WebSocket and in SSE streams.
type Frame struct {
	Type      string `json:"type"`
	SessionID string `json:"session_id,omitempty"`
	Seq       int64  `json:"seq,omitempty"`
	Data      any    `json:"data"`
}

// Delta is message.delta's data.
type Delta struct {
	MessageID string `json:"message_id"`
	Delta     string `json:"delta"`
	Index     int    `json:"index"`
}

// Typing is typing's data.
type Typing struct {
	UserID   string `json:"user_id"`
	IsTyping bool   `json:"is_typing"`
}

// Presence is presence's data.
type Presence struct {
	UserID string `json:"user_id"`
	Online bool   `json:"online"`
}

// Snapshot is session.snapshot's data: where the session stands now.
type Snapshot struct {
	LastSeq   int64     `json:"last_seq"`
	Streaming []Message `json:"streaming"`
}

// Deleted is message.deleted's data.
type Deleted struct {
	MessageID  string   `json:"message_id"`
	DeletedIDs []string `json:"deleted_ids"`
}

// ErrorData is error's data.
type ErrorData struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// EventFrame wraps a session event in its envelope.
func EventFrame(e domain.SessionEvent) Frame {
	f := Frame{Type: string(e.Type), SessionID: e.SessionID, Seq: e.Seq}
	switch {
	case e.Delta != nil:
		f.Data = Delta{MessageID: e.Delta.MessageID, Delta: e.Delta.Delta, Index: e.Delta.Index}
	case e.Message != nil:
		f.Data = FromMessageSnapshot(*e.Message)
	case e.Session != nil:
		f.Data = FromSessionSnapshot(*e.Session)
	case e.Typing != nil:
		f.Data = Typing{UserID: e.Typing.UserID, IsTyping: e.Typing.IsTyping}
	case e.Presence != nil:
		f.Data = Presence{UserID: e.Presence.UserID, Online: e.Presence.Online}
	case e.Deleted != nil:
		f.Data = Deleted{MessageID: e.Deleted.MessageID, DeletedIDs: e.Deleted.DeletedIDs}
	default:
		f.Data = struct{}{}
	}
	return f
}

// EncodeEvent renders a session event as one JSON frame; callers encode an
// event once and write the bytes to every subscriber.
func EncodeEvent(e domain.SessionEvent) ([]byte, error) {
	b, err := json.Marshal(EventFrame(e))
	if err != nil {
		return nil, fmt.Errorf("encode %s event: %w", e.Type, err)
	}
	return b, nil
}

// SnapshotFrame renders a session.snapshot.
func SnapshotFrame(sessionID string, lastSeq int64, streaming []domain.MessageSnapshot) Frame {
	msgs := make([]Message, 0, len(streaming))
	for _, m := range streaming {
		msgs = append(msgs, FromMessageSnapshot(m))
	}
	return Frame{Type: "session.snapshot", SessionID: sessionID, Data: Snapshot{LastSeq: lastSeq, Streaming: msgs}}
}
