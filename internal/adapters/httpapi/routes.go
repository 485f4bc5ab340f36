package httpapi

import (
	"github.com/gin-gonic/gin"

	"github.com/chatd/chatd/internal/domain"
)

// RouteGroups are the gin groups a route set mounts on.
type RouteGroups struct {
	Root   *gin.Engine
	Public *gin.RouterGroup // /api/v1, no authentication
	Authed *gin.RouterGroup // /api/v1, bearer token required, API rate limit applied
}

// Routes is one set of routes; every set is collected through the fx value
// group "routes" (see AsRoutes), so another adapter can add its own.
type Routes interface {
	Mount(g RouteGroups)
}

// missingField reports a required field that is absent.
func missingField(field string) error {
	return domain.InvalidField(field, "is required")
}

// handle adapts a handler that returns its failure; the error middleware
// renders it, so handlers never write problems themselves.
func handle(h func(*gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			_ = c.Error(err)
			c.Abort()
		}
	}
}
