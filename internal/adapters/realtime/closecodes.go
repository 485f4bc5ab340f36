package realtime

import "github.com/gorilla/websocket"

// Close codes beyond RFC 6455's, in the private range.
const (
	closeSlowConsumer   = 4008 // the socket fell behind; resume with last_seq
	closeNotParticipant = 4403 // removed from the session
	closeSessionDeleted = 4404 // the session is gone
)

// closeTryAgain (RFC 6455's 1013, "try again later") ends the sockets of a
// room whose events cannot be read: the broker is not answering.
const closeTryAgain = websocket.CloseTryAgainLater

func closeFrame(code int, reason string) []byte {
	return websocket.FormatCloseMessage(code, reason)
}
