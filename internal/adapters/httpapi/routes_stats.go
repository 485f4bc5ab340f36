package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/chatd/chatd/internal/app"
)

type statsRoutes struct {
	stats *app.GetStats
	conns ConnectionCounter
}

func newStatsRoutes(stats *app.GetStats, conns ConnectionCounter) *statsRoutes {
	return &statsRoutes{stats: stats, conns: conns}
}

func (h *statsRoutes) Mount(g RouteGroups) {
	g.Authed.GET("/chat/stats", handle(h.get))
}

func (h *statsRoutes) get(c *gin.Context) error {
	all := false
	if scope, ok := c.GetQuery("scope"); ok {
		if scope != "all" && scope != "mine" {
			return badQuery("scope", "must be all or mine")
		}
		all = scope == "all"
	}
	s, err := h.stats.Handle(c.Request.Context(), callerOf(c), all)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toStatsResponse(s, h.conns.ActiveConnections()))
	return nil
}
