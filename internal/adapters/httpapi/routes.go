package httpapi

import (
	"github.com/gin-gonic/gin"

	"github.com/chatd/chatd/internal/domain"
)

// routeGroups are the gin groups a route set mounts on.
type routeGroups struct {
	root   *gin.Engine
	public *gin.RouterGroup // /api/v1, no authentication
	authed *gin.RouterGroup // /api/v1, bearer token required, API rate limit applied
}

// Routes is one set of routes; every set is collected through the fx value
// group "routes", so adding a set needs no change here.
type Routes interface {
	Mount(g routeGroups)
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
