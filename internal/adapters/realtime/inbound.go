package realtime

import (
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/chatd/chatd/internal/adapters/wire"
)

// inboundFrame is what clients send: typing.start, typing.stop, ping, resume.
type inboundFrame struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

type resumeData struct {
	LastSeq *int64 `json:"last_seq"`
}

// onMessage runs inside melody's read loop, so it only parses and hands
// work to the room; nothing slow happens here.
func (h *Hub) onMessage(sock *socket, msg []byte) {
	if !utf8.Valid(msg) {
		sock.closeWith(websocket.CloseInvalidFramePayloadData, "text frames must be valid UTF-8")
		return
	}
	var f inboundFrame
	if err := json.Unmarshal(msg, &f); err != nil || f.Type == "" {
		h.sendError(sock, "malformed-frame", `frames are JSON objects such as {"type":"ping"}`)
		return
	}
	switch f.Type {
	case "ping":
		h.sendFrame(sock, wire.Frame{Type: "pong", SessionID: sock.sessionID, Data: struct{}{}})
	case "typing.start", "typing.stop":
		ok, flood := sock.allowTyping(h.cfg.TypingPerSecond, time.Now())
		if flood {
			sock.closeWith(websocket.ClosePolicyViolation, "too many typing frames")
			return
		}
		if ok {
			h.rooms.typing(sock, f.Type == "typing.start")
		}
	case "resume":
		var d resumeData
		if err := json.Unmarshal(f.Data, &d); err != nil || d.LastSeq == nil || *d.LastSeq < 0 {
			h.sendError(sock, "malformed-frame", `resume needs {"data":{"last_seq": N}} with N >= 0`)
			return
		}
		h.rooms.resume(sock, *d.LastSeq)
	default:
		h.sendError(sock, "unknown-type", "unknown frame type "+truncate(f.Type, 40)+"; send typing.start, typing.stop, ping or resume")
	}
}

func (h *Hub) sendError(sock *socket, code, detail string) {
	h.sendFrame(sock, wire.Frame{Type: "error", SessionID: sock.sessionID, Data: wire.ErrorData{Code: code, Detail: detail}})
}

func (h *Hub) sendFrame(sock *socket, f wire.Frame) {
	b, err := json.Marshal(f)
	if err == nil {
		sock.send(b, h.metrics)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
