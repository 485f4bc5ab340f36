package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/chatd/chatd/internal/adapters/wire"
	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

type sessionRoutes struct {
	access   *app.Access
	create   *app.CreateSession
	update   *app.UpdateSession
	remove   *app.DeleteSession
	sessions ports.SessionRepository
}

func newSessionRoutes(access *app.Access, create *app.CreateSession, update *app.UpdateSession, remove *app.DeleteSession,
	sessions ports.SessionRepository,
) *sessionRoutes {
	return &sessionRoutes{access: access, create: create, update: update, remove: remove, sessions: sessions}
}

func (h *sessionRoutes) Mount(g RouteGroups) {
	g.Authed.GET("/chat/sessions", handle(h.list))
	g.Authed.POST("/chat/sessions", handle(h.post))
	g.Authed.GET("/chat/sessions/:session_id", handle(h.get))
	g.Authed.PUT("/chat/sessions/:session_id", handle(h.put))
	g.Authed.DELETE("/chat/sessions/:session_id", handle(h.delete))
}

func (h *sessionRoutes) list(c *gin.Context) error {
	page, err := pageParams(c)
	if err != nil {
		return err
	}
	var filter ports.SessionFilter
	if filter.IsActive, err = boolQuery(c, "is_active"); err != nil {
		return err
	}
	if raw, ok := c.GetQuery("llm_provider"); ok {
		p, err := domain.ParseProvider(raw)
		if err != nil {
			return badQuery("llm_provider", "must be one of LOCAL, OPENROUTER")
		}
		filter.Provider = &p
	}
	sessions, total, err := h.sessions.ListForUser(c.Request.Context(), callerOf(c).UserID, filter, page)
	if err != nil {
		return err
	}
	body := sessionListResponse{Sessions: make([]wire.Session, 0, len(sessions)), pagination: pageOf(page, total)}
	for _, s := range sessions {
		body.Sessions = append(body.Sessions, wire.FromSession(s))
	}
	c.JSON(http.StatusOK, body)
	return nil
}

func (h *sessionRoutes) post(c *gin.Context) error {
	var req createSessionRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.LLMProvider == nil {
		return missingField("llm_provider")
	}
	if req.LLMModel == nil {
		return missingField("llm_model")
	}
	cmd := app.CreateSessionCmd{Provider: domain.Provider(*req.LLMProvider), Model: *req.LLMModel}
	if req.Title != nil {
		cmd.Title = *req.Title
	}
	if req.Settings != nil {
		cmd.Settings = req.Settings.ToDomain()
	}
	s, err := h.create.Handle(c.Request.Context(), callerOf(c), cmd)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, wire.FromSession(s))
	return nil
}

func (h *sessionRoutes) get(c *gin.Context) error {
	id, err := pathID(c, "session_id")
	if err != nil {
		return err
	}
	s, _, err := h.access.Session(c.Request.Context(), callerOf(c), id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, wire.FromSession(s))
	return nil
}

func (h *sessionRoutes) put(c *gin.Context) error {
	id, err := pathID(c, "session_id")
	if err != nil {
		return err
	}
	var req updateSessionRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	patch := domain.SessionPatch{Title: req.Title, Model: req.LLMModel, IsActive: req.IsActive}
	if req.LLMProvider != nil {
		p := domain.Provider(*req.LLMProvider)
		patch.Provider = &p
	}
	if req.Settings != nil {
		s := req.Settings.ToDomain()
		patch.Settings = &s
	}
	cmd := app.UpdateSessionCmd{Patch: patch, CurrentMessageID: req.CurrentMessageID}
	s, err := h.update.Handle(c.Request.Context(), callerOf(c), id, cmd)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, wire.FromSession(s))
	return nil
}

func (h *sessionRoutes) delete(c *gin.Context) error {
	id, err := pathID(c, "session_id")
	if err != nil {
		return err
	}
	if err := h.remove.Handle(c.Request.Context(), callerOf(c), id); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}
