package httpapi

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/chatd/chatd/internal/adapters/wire"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

const (
	sseHeartbeat = 15 * time.Second
	// subscriptionBuffer holds events for an HTTP subscriber between reads;
	// one that falls further behind is ended rather than skipped (SSE gets
	// an error event, ?wait=true falls back to reading storage). It is
	// allocated per post: 4096 slots were 62% of a post's bytes.
	subscriptionBuffer = 512
)

// wantsEventStream reports an Accept header that asks for SSE.
func wantsEventStream(c *gin.Context) bool {
	for _, part := range strings.Split(c.GetHeader("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/event-stream" {
			return true
		}
	}
	return false
}

// streamTurn answers a post with the session's events as SSE until the
// reply's final event (or at once after the created events when no reply was
// asked for). The frames are the WebSocket's.
func streamTurn(c *gin.Context, drain <-chan struct{}, sub ports.Subscription, res sendResultView) {
	startSSE(c)

	heartbeat := time.NewTicker(sseHeartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case e, ok := <-sub.Events():
			if !ok {
				writeSSEError(c, "slow-consumer", "the stream fell behind; fetch the messages or resume on the WebSocket")
				return
			}
			if err := writeSSE(c, e); err != nil {
				return
			}
			if res.endsWith(e) {
				c.Writer.Flush()
				return
			}
			// Events already waiting go out with this one: one flush (and
			// one write to the socket) for a burst instead of one each.
			if len(sub.Events()) == 0 {
				c.Writer.Flush()
			}
		case <-heartbeat.C:
			if _, err := c.Writer.WriteString(": keep-alive\n\n"); err != nil {
				return
			}
			c.Writer.Flush()
		case <-drain:
			writeSSEError(c, "server-restarting", "the server is restarting; the reply goes on and is stored")
			return
		case <-c.Request.Context().Done():
			return
		}
	}
}

// startSSE answers 200 with the event-stream headers, unbuffered by proxies.
func startSSE(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)
	c.Writer.WriteHeaderNow()
	c.Writer.Flush()
}

// writeSSE writes one event; the caller flushes.
func writeSSE(c *gin.Context, e domain.SessionEvent) error {
	b, err := wire.EncodeEvent(e)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.Writer, "id: %d\nevent: %s\ndata: %s\n\n", e.Seq, e.Type, b)
	return err
}

func writeSSEError(c *gin.Context, code, detail string) {
	b, err := jsonFrame(wire.Frame{Type: "error", Data: wire.ErrorData{Code: code, Detail: detail}})
	if err == nil {
		_, _ = fmt.Fprintf(c.Writer, "event: error\ndata: %s\n\n", b)
		c.Writer.Flush()
	}
}

// sendResultView is what a post created, as the streams see it.
type sendResultView struct {
	replyID string // empty when no reply was asked for
}

// endsWith reports the event after which a turn's stream is complete.
func (v sendResultView) endsWith(e domain.SessionEvent) bool {
	if v.replyID != "" && e.Deleted != nil && slices.Contains(e.Deleted.DeletedIDs, v.replyID) {
		return true // deleted before it finished: it never will
	}
	if e.Message == nil {
		return false
	}
	if v.replyID == "" {
		return e.Type == domain.EventMessageCreated
	}
	return e.Message.ID == v.replyID && e.Message.Status.IsFinal()
}

// errStreamEnded tells a waiter that its subscription ended before the reply did.
var errStreamEnded = errors.New("subscription ended")

// awaitReply blocks until the reply's final event and returns its state.
func awaitReply(c *gin.Context, drain <-chan struct{}, sub ports.Subscription, replyID string) (domain.MessageSnapshot, error) {
	for {
		select {
		case e, ok := <-sub.Events():
			if !ok {
				return domain.MessageSnapshot{}, errStreamEnded
			}
			if e.Message != nil && e.Message.ID == replyID && e.Message.Status.IsFinal() {
				return *e.Message, nil
			}
			if e.Deleted != nil && slices.Contains(e.Deleted.DeletedIDs, replyID) {
				return domain.MessageSnapshot{}, domain.Conflict("reply-deleted",
					"the reply was deleted before it finished")
			}
		case <-drain:
			return domain.MessageSnapshot{}, domain.Unavailable("server-restarting",
				"the server is restarting; the reply goes on and is stored, fetch it from the messages", nil)
		case <-c.Request.Context().Done():
			return domain.MessageSnapshot{}, c.Request.Context().Err()
		}
	}
}

// eventsUnavailable answers a stream or a wait that cannot subscribe: the
// broker is not answering, and nothing was posted yet.
func eventsUnavailable(err error) error {
	return domain.Unavailable("events-unavailable", "live updates are not available right now; try again shortly", err)
}
