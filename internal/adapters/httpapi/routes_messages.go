package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

type messageRoutes struct {
	list   *app.ListMessages
	send   *app.SendMessage
	update *app.UpdateMessage
}

func newMessageRoutes(list *app.ListMessages, send *app.SendMessage, update *app.UpdateMessage) *messageRoutes {
	return &messageRoutes{list: list, send: send, update: update}
}

func (h *messageRoutes) Mount(g routeGroups) {
	g.authed.GET("/chat/sessions/:session_id/messages", handle(h.getList))
	g.authed.POST("/chat/sessions/:session_id/messages", handle(h.post))
	g.authed.PUT("/chat/messages/:message_id", handle(h.put))
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
	body := messageListResponse{Messages: make([]messageResponse, 0, len(msgs)), pagination: pageOf(page, total)}
	for _, m := range msgs {
		body.Messages = append(body.Messages, toMessageResponse(m))
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
	res, err := h.send.Handle(c.Request.Context(), callerOf(c), cmd)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, sendMessageResponse{
		UserMessage: toMessageResponse(res.Message), AssistantMessage: toOptionalMessage(res.Reply),
	})
	return nil
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
	c.JSON(http.StatusOK, toMessageResponse(m))
	return nil
}
