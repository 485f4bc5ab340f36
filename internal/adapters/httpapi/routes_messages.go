package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/chatd/chatd/internal/adapters/wire"
	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

type messageRoutes struct {
	list       *app.ListMessages
	send       *app.SendMessage
	update     *app.UpdateMessage
	remove     *app.DeleteMessage
	regenerate *app.Regenerate
	events     ports.SessionEvents
	messages   ports.MessageRepository
	state      *serverState
}

func newMessageRoutes(list *app.ListMessages, send *app.SendMessage, update *app.UpdateMessage,
	remove *app.DeleteMessage, regenerate *app.Regenerate, events ports.SessionEvents, messages ports.MessageRepository,
	state *serverState,
) *messageRoutes {
	return &messageRoutes{list: list, send: send, update: update, remove: remove, regenerate: regenerate,
		events: events, messages: messages, state: state}
}

func (h *messageRoutes) Mount(g RouteGroups) {
	g.Authed.GET("/chat/sessions/:session_id/messages", handle(h.getList))
	g.Authed.POST("/chat/sessions/:session_id/messages", handle(h.post))
	g.Authed.PUT("/chat/messages/:message_id", handle(h.put))
	g.Authed.DELETE("/chat/messages/:message_id", handle(h.delete))
	g.Authed.POST("/chat/messages/:message_id/regenerate", handle(h.postRegenerate))
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
	q := ports.MessageQuery{Branch: domain.BranchCurrent, Order: ports.OrderAsc, Page: page}
	if raw, ok := c.GetQuery("order"); ok {
		if raw != string(ports.OrderAsc) && raw != string(ports.OrderDesc) {
			return badQuery("order", "must be asc or desc")
		}
		q.Order = ports.Order(raw)
	}
	if raw, ok := c.GetQuery("branch"); ok {
		if q.Branch, err = domain.ParseBranch(raw); err != nil {
			return badQuery("branch", "must be current or all")
		}
	}
	listed, err := h.list.Handle(c.Request.Context(), callerOf(c), sessionID, q)
	if err != nil {
		return err
	}
	// A page is shared while it is fresh: it is encoded once, not per read.
	body, err := listed.Rendered(func(p *app.MessagePage) ([]byte, error) {
		return json.Marshal(messageListOf(p, page))
	})
	if err != nil {
		return err
	}
	// With its length known the body goes out whole, not in chunks.
	c.Header("Content-Length", strconv.Itoa(len(body)))
	c.Data(http.StatusOK, jsonContentType, body)
	return nil
}

func messageListOf(p *app.MessagePage, page ports.Page) messageListResponse {
	body := messageListResponse{Messages: make([]wire.Message, 0, len(p.Messages)), pagination: pageOf(page, p.Total)}
	for _, m := range p.Messages {
		listed := wire.FromMessage(m.Message)
		listed.SiblingIDs = m.SiblingIDs
		body.Messages = append(body.Messages, listed)
	}
	return body
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
	cmd := app.SendMessageCmd{SessionID: sessionID, Placement: domain.FollowCurrent(), Content: *req.Content,
		ProcessLLM: true, Model: req.LLMModel, IdempotencyKey: c.GetHeader("Idempotency-Key")}
	if req.ParentID.Present {
		cmd.Placement = domain.Under(req.ParentID.ID)
	}
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
		if sub, _, err = h.events.Subscribe(c.Request.Context(), sessionID, -1, subscriptionBuffer); err != nil {
			return eventsUnavailable(err)
		}
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
		return h.answerWhenDone(c, sub, res.Reply.ID(), turnAnswer(res))
	}
	c.JSON(http.StatusCreated, sendMessageResponse{
		UserMessage: wire.FromMessage(res.Message), AssistantMessage: wire.FromOptionalMessage(res.Reply),
	})
	return nil
}

// turnAnswer renders a post's answer around its finished reply.
func turnAnswer(res app.SendResult) func(wire.Message) any {
	return func(final wire.Message) any {
		return sendMessageResponse{UserMessage: wire.FromMessage(res.Message), AssistantMessage: &final}
	}
}

// answerWhenDone is ?wait=true: 200 with the finished reply; a failed reply
// is the provider's failure (502) and an interrupted one the server's (503),
// both already stored.
func (h *messageRoutes) answerWhenDone(c *gin.Context, sub ports.Subscription, replyID string, render func(wire.Message) any) error {
	reply, err := awaitReply(c, h.state.drain, sub, replyID)
	if errors.Is(err, errStreamEnded) {
		reply, err = h.pollReply(c, replyID)
	}
	if err != nil {
		return err
	}
	return answerFinished(c, reply, render)
}

// answerFinished is ?wait=true's answer for a reply that ended.
func answerFinished(c *gin.Context, reply domain.MessageSnapshot, render func(wire.Message) any) error {
	switch reply.Status {
	case domain.StatusFailed:
		return &httpError{status: http.StatusBadGateway, code: "reply-failed", detail: derefOr(reply.ErrorMessage, "the model failed to answer")}
	case domain.StatusInterrupted:
		return domain.Unavailable("reply-interrupted", "the server stopped before the reply was finished; its text so far is stored", nil)
	}
	c.JSON(http.StatusOK, render(wire.FromMessageSnapshot(reply)))
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
		return answerFinished(c, reply, turnAnswer(res))
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

func (h *messageRoutes) delete(c *gin.Context) error {
	messageID, err := pathID(c, "message_id")
	if err != nil {
		return err
	}
	if err := h.remove.Handle(c.Request.Context(), callerOf(c), messageID); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}
