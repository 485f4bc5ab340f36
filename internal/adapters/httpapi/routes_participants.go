package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
)

type participantRoutes struct {
	participants *app.Participants
}

func newParticipantRoutes(participants *app.Participants) *participantRoutes {
	return &participantRoutes{participants: participants}
}

func (h *participantRoutes) Mount(g RouteGroups) {
	g.Authed.GET("/chat/sessions/:session_id/participants", handle(h.list))
	g.Authed.POST("/chat/sessions/:session_id/participants", handle(h.add))
	g.Authed.DELETE("/chat/sessions/:session_id/participants/:user_id", handle(h.remove))
}

func (h *participantRoutes) list(c *gin.Context) error {
	sessionID, err := pathID(c, "session_id")
	if err != nil {
		return err
	}
	views, err := h.participants.List(c.Request.Context(), callerOf(c), sessionID)
	if err != nil {
		return err
	}
	body := participantListResponse{Participants: make([]participantResponse, 0, len(views))}
	for _, v := range views {
		body.Participants = append(body.Participants, toParticipantResponse(v))
	}
	c.JSON(http.StatusOK, body)
	return nil
}

func (h *participantRoutes) add(c *gin.Context) error {
	sessionID, err := pathID(c, "session_id")
	if err != nil {
		return err
	}
	var req addParticipantRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Role == nil {
		return missingField("role")
	}
	role, err := domain.ParseParticipantRole(*req.Role)
	if err != nil {
		return err
	}
	cmd := app.AddParticipantCmd{Role: role}
	if req.UserID != nil {
		id, ok := domain.ParseID(*req.UserID)
		if !ok {
			return domain.InvalidField("user_id", "must be a canonical lower-case UUID")
		}
		cmd.UserID = id
	}
	if req.Email != nil {
		cmd.Email = *req.Email
	}
	view, err := h.participants.Add(c.Request.Context(), callerOf(c), sessionID, cmd)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, toParticipantResponse(view))
	return nil
}

func (h *participantRoutes) remove(c *gin.Context) error {
	sessionID, err := pathID(c, "session_id")
	if err != nil {
		return err
	}
	userID, err := pathID(c, "user_id")
	if err != nil {
		return err
	}
	if err := h.participants.Remove(c.Request.Context(), callerOf(c), sessionID, userID); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}
