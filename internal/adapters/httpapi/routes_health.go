package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/chatd/chatd/internal/adapters/wire"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chatd/chatd/internal/ports"
)

// ConnectionCounter tells how many WebSockets are open; the realtime adapter provides it.
type ConnectionCounter interface {
	ActiveConnections() int
}

type healthRoutes struct {
	cfg     Config
	db      ports.HealthChecker
	clock   ports.Clock
	conns   ConnectionCounter
	state   *serverState
	metrics *prometheus.Registry
}

func newHealthRoutes(cfg Config, db ports.HealthChecker, clock ports.Clock, conns ConnectionCounter, state *serverState, reg *prometheus.Registry) *healthRoutes {
	return &healthRoutes{cfg: cfg, db: db, clock: clock, conns: conns, state: state, metrics: reg}
}

func (h *healthRoutes) Mount(g RouteGroups) {
	g.Public.GET("/health", h.health)
	g.Public.GET("/chat/health", h.chatHealth)
	g.Public.GET("/health/ready", h.ready)
	g.Root.GET("/metrics", metricsHandler(h.metrics))
}

func (h *healthRoutes) health(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "healthy", "version": h.cfg.Version})
}

func (h *healthRoutes) chatHealth(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{
		"service": "chat", "status": "healthy", "timestamp": wire.Timestamp(h.clock.Now()),
		"active_connections": h.conns.ActiveConnections(),
	})
}

// ready tells load balancers to send traffic: 503 while draining or when the
// database does not answer within a second.
func (h *healthRoutes) ready(c *gin.Context) {
	if h.state.draining.Load() {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "not_ready", "reason": "draining"})
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), time.Second)
	defer cancel()
	if err := h.db.Ping(ctx); err != nil {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "not_ready", "reason": "database"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}
