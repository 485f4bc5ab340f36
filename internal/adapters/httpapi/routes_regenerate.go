package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/chatd/chatd/internal/adapters/wire"
	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/ports"
)

// postRegenerate answers a turn again. It streams and waits exactly as a post
// does: 202 with the new reply, 200 with it finished on ?wait=true, or the
// session's events as SSE.
func (h *messageRoutes) postRegenerate(c *gin.Context) error {
	messageID, err := pathID(c, "message_id")
	if err != nil {
		return err
	}
	var req regenerateRequest
	if err := decodeOptionalJSON(c, &req); err != nil {
		return err
	}
	o, err := req.overrides()
	if err != nil {
		return err
	}
	cmd := app.RegenerateCmd{MessageID: messageID, Provider: o.provider, Model: o.model, Settings: o.settings}
	wait, err := boolQuery(c, "wait")
	if err != nil {
		return err
	}
	sse := wantsEventStream(c)
	var sub ports.Subscription
	if sse || (wait != nil && *wait) {
		// The session is known only from the message; the subscription must
		// still begin before the reply publishes anything.
		// Access is decided by the use case below, before anything is sent.
		m, err := h.messages.Get(c.Request.Context(), messageID)
		if err != nil {
			return err
		}
		if sub, _, err = h.events.Subscribe(c.Request.Context(), m.SessionID(), -1, subscriptionBuffer); err != nil {
			return eventsUnavailable(err)
		}
		defer sub.Close()
	}
	reply, err := h.regenerate.Handle(c.Request.Context(), callerOf(c), cmd)
	if err != nil {
		return err
	}
	switch {
	case sse:
		streamTurn(c, h.state.drain, sub, sendResultView{replyID: reply.ID()})
		return nil
	case sub != nil:
		return h.answerWhenDone(c, sub, reply.ID(), replyAnswer)
	}
	c.JSON(http.StatusAccepted, replyAnswer(wire.FromMessage(reply)))
	return nil
}

// replyAnswer is the body of routes that start a reply without a post.
func replyAnswer(reply wire.Message) any {
	return gin.H{"assistant_message": reply}
}
