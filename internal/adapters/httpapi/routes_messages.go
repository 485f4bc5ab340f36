package httpapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/chatd/chatd/internal/adapters/wire"
	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

type messageRoutes struct {
	list     *app.ListMessages
	send     *app.SendMessage
	update   *app.UpdateMessage
	events   ports.SessionEvents
	messages ports.MessageRepository
	state    *serverState
}

func newMessageRoutes(list *app.ListMessages, send *app.SendMessage, update *app.UpdateMessage,
	events ports.SessionEvents, messages ports.MessageRepository, state *serverState,
) *messageRoutes {
	return &messageRoutes{list: list, send: send, update: update, events: events, messages: messages, state: state}
}

func (h *messageRoutes) Mount(g RouteGroups) {
	g.Authed.GET("/chat/sessions/:session_id/messages", handle(h.getList))
	g.Authed.POST("/chat/sessions/:session_id/messages", handle(h.post))
	g.Authed.PUT("/chat/messages/:message_id", handle(h.put))
}

func (h *messageRoutes) getList(c *gin.Context) error {
	sessionID, err := pathID(c, "session_id")
	if err != nil {
		return err
	}
	page, err := pageParams(c)
	if err != nil {
		return err
	}
	order := ports.OrderAsc
	if raw, ok := c.GetQuery("order"); ok {
		if raw != string(ports.OrderAsc) && raw != string(ports.OrderDesc) {
			return badQuery("order", "must be asc or desc")
		}
		order = ports.Order(raw)
	}
	msgs, total, err := h.list.Handle(c.Request.Context(), callerOf(c), sessionID, order, page)
	if err != nil {
		return err
	}
	body := messageListResponse{Messages: make([]wire.Message, 0, len(msgs)), pagination: pageOf(page, total)}
	for _, m := range msgs {
		body.Messages = append(body.Messages, wire.FromMessage(m))
	}
	c.JSON(http.StatusOK, body)
	return nil
}

func (h *messageRoutes) post(c *gin.Context) error {
	sessionID, err := pathID(c, "session_id")
	if err != nil {
		return err
	}
	var req sendMessageRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Content == nil {
		return missingField("content")
	}
	cmd := app.SendMessageCmd{SessionID: sessionID, Content: *req.Content, ProcessLLM: true, Model: req.LLMModel,
		IdempotencyKey: c.GetHeader("Idempotency-Key")}
	if req.Role != nil {
		if cmd.Role, err = domain.ParsePostedRole(*req.Role); err != nil {
			return err
		}
	} else {
		cmd.Role = domain.RoleUser
	}
	if req.ProcessLLM != nil {
		cmd.ProcessLLM = *req.ProcessLLM
	}
	if req.LLMProvider != nil {
		p, err := domain.ParseProvider(*req.LLMProvider)
		if err != nil {
			return err
		}
		cmd.Provider = &p
	}
	wait, err := boolQuery(c, "wait")
	if err != nil {
		return err
	}
	sse := wantsEventStream(c)
	var sub ports.Subscription
	if sse || (wait != nil && *wait) {
		// Subscribe before the post publishes anything, so no event is missed.
		sub, _ = h.events.Subscribe(sessionID, -1, subscriptionBuffer)
		defer sub.Close()
	}
	res, err := h.send.Handle(c.Request.Context(), callerOf(c), cmd)
	if err != nil {
		return err
	}
	view := sendResultView{}
	if res.Reply != nil {
		view.replyID = res.Reply.ID()
	}
	if res.Replayed && res.Reply != nil && res.Reply.Status().IsFinal() {
		// A retry of a post whose reply already ended: its events are long
		// gone, so answer from what is stored.
		return h.answerReplay(c, sse, wait != nil && *wait, res)
	}
	switch {
	case sse:
		streamTurn(c, h.state.drain, sub, view)
		return nil
	case sub != nil && res.Reply != nil:
		return h.answerWhenDone(c, sub, res)
	}
	c.JSON(http.StatusCreated, sendMessageResponse{
		UserMessage: wire.FromMessage(res.Message), AssistantMessage: wire.FromOptionalMessage(res.Reply),
	})
	return nil
}

// answerWhenDone is ?wait=true: 200 with the finished reply; a failed reply
// is the provider's failure (502) and an interrupted one the server's (503),
// both already stored.
func (h *messageRoutes) answerWhenDone(c *gin.Context, sub ports.Subscription, res app.SendResult) error {
	reply, err := awaitReply(c, h.state.drain, sub, res.Reply.ID())
	if errors.Is(err, errStreamEnded) {
		reply, err = h.pollReply(c, res.Reply.ID())
	}
	if err != nil {
		return err
	}
	return h.answerFinished(c, res, reply)
}

// answerFinished is ?wait=true's answer for a reply that ended.
func (h *messageRoutes) answerFinished(c *gin.Context, res app.SendResult, reply domain.MessageSnapshot) error {
	switch reply.Status {
	case domain.StatusFailed:
		return &httpError{status: http.StatusBadGateway, code: "reply-failed", detail: derefOr(reply.ErrorMessage, "the model failed to answer")}
	case domain.StatusInterrupted:
		return domain.Unavailable("reply-interrupted", "the server stopped before the reply was finished; its text so far is stored", nil)
	}
	final := wire.FromMessageSnapshot(reply)
	c.JSON(http.StatusOK, sendMessageResponse{UserMessage: wire.FromMessage(res.Message), AssistantMessage: &final})
	return nil
}

// answerReplay answers a keyed retry whose reply is finished: SSE gets the
// reply's final event (without a seq: it is not a new event), ?wait=true the
// finished turn, and a plain post the same 201 as the first time.
func (h *messageRoutes) answerReplay(c *gin.Context, sse, wait bool, res app.SendResult) error {
	reply := res.Reply.Snapshot()
	switch {
	case sse:
		startSSE(c)
		_ = writeSSE(c, domain.SessionEvent{Type: domain.FinalEventOf(reply.Status), SessionID: reply.SessionID,
			Message: &reply})
		c.Writer.Flush()
		return nil
	case wait:
		return h.answerFinished(c, res, reply)
	}
	c.JSON(http.StatusCreated, sendMessageResponse{
		UserMessage: wire.FromMessage(res.Message), AssistantMessage: wire.FromOptionalMessage(res.Reply),
	})
	return nil
}

// pollReply reads the stored reply until it ends; used when a waiter's
// subscription fell behind.
func (h *messageRoutes) pollReply(c *gin.Context, id string) (domain.MessageSnapshot, error) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		m, err := h.messages.Get(c.Request.Context(), id)
		if err != nil {
			return domain.MessageSnapshot{}, err
		}
		if m.Status().IsFinal() {
			return m.Snapshot(), nil
		}
		select {
		case <-tick.C:
		case <-c.Request.Context().Done():
			return domain.MessageSnapshot{}, c.Request.Context().Err()
		}
	}
}

func derefOr(s *string, fallback string) string {
	if s == nil || *s == "" {
		return fallback
	}
	return *s
}

func (h *messageRoutes) put(c *gin.Context) error {
	messageID, err := pathID(c, "message_id")
	if err != nil {
		return err
	}
	var req updateMessageRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	m, err := h.update.Handle(c.Request.Context(), callerOf(c), messageID,
		domain.MessageEdit{Content: req.Content, Metadata: req.MessageMetadata})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, wire.FromMessage(m))
	return nil
}
