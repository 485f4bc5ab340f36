package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/chatd/chatd/internal/adapters/wire"
	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

type generationRoutes struct {
	process *app.ProcessLLM
	cancel  *app.CancelGeneration
	models  ports.ChatModel
}

func newGenerationRoutes(process *app.ProcessLLM, cancel *app.CancelGeneration, models ports.ChatModel) *generationRoutes {
	return &generationRoutes{process: process, cancel: cancel, models: models}
}

func (h *generationRoutes) Mount(g RouteGroups) {
	g.Authed.POST("/chat/sessions/:session_id/process-llm", handle(h.postProcess))
	g.Authed.POST("/chat/messages/:message_id/cancel", handle(h.postCancel))
	g.Authed.GET("/chat/models", handle(h.getModels))
}

type processLLMRequest struct {
	Prompt *string `json:"prompt"`
	replyOverrideRequest
}

func (h *generationRoutes) postProcess(c *gin.Context) error {
	sessionID, err := pathID(c, "session_id")
	if err != nil {
		return err
	}
	var req processLLMRequest
	if err := decodeOptionalJSON(c, &req); err != nil {
		return err
	}
	o, err := req.overrides()
	if err != nil {
		return err
	}
	cmd := app.ProcessLLMCmd{SessionID: sessionID, Prompt: req.Prompt, Provider: o.provider, Model: o.model,
		Settings: o.settings}
	reply, err := h.process.Handle(c.Request.Context(), callerOf(c), cmd)
	if err != nil {
		return err
	}
	c.JSON(http.StatusAccepted, gin.H{"assistant_message": wire.FromMessage(reply)})
	return nil
}

func (h *generationRoutes) postCancel(c *gin.Context) error {
	id, err := pathID(c, "message_id")
	if err != nil {
		return err
	}
	m, err := h.cancel.Handle(c.Request.Context(), callerOf(c), id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, wire.FromMessage(m))
	return nil
}

type modelResponse struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	ContextLength *int   `json:"context_length"`
}

func (h *generationRoutes) getModels(c *gin.Context) error {
	raw, ok := c.GetQuery("llm_provider")
	if !ok {
		return badQuery("llm_provider", "is required (LOCAL or OPENROUTER)")
	}
	provider, err := domain.ParseProvider(raw)
	if err != nil {
		return badQuery("llm_provider", "must be one of LOCAL, OPENROUTER")
	}
	models, err := h.models.Models(c.Request.Context(), provider)
	if err != nil {
		return upstreamError(err)
	}
	body := make([]modelResponse, 0, len(models))
	for _, m := range models {
		body = append(body, modelResponse{ID: m.ID, Name: m.Name, ContextLength: m.ContextLength})
	}
	c.JSON(http.StatusOK, gin.H{"models": body})
	return nil
}

// upstreamError answers a provider's failure on a synchronous call as the
// gateway it is: 504 when it timed out, 502 otherwise.
func upstreamError(err error) error {
	de, ok := domain.AsError(err)
	if !ok || de.Kind != domain.ErrUnavailable {
		return err
	}
	status := http.StatusBadGateway
	if de.Code == "provider-timeout" {
		status = http.StatusGatewayTimeout
	}
	return &httpError{status: status, code: de.Code, detail: de.Detail}
}
