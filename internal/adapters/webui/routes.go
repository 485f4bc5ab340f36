package webui

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/chatd/chatd/internal/adapters/httpapi"
	"github.com/chatd/chatd/internal/domain"
)

// Where the page lives: index.html at the root, its modules and styles
// under AssetsPath.
const (
	PagePath   = "/"
	AssetsPath = "/ui"
)

type routes struct {
	page   *asset
	assets map[string]*asset
}

func newRoutes() routes {
	assets := loadAssets()
	return routes{page: assets["index.html"], assets: assets}
}

// Mount serves the page and its assets; none needs authentication (the page
// signs in through the API).
func (r routes) Mount(g httpapi.RouteGroups) {
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		g.Root.Handle(method, PagePath, r.page.serve)
		g.Root.Handle(method, AssetsPath+"/*file", r.serveAsset)
	}
}

func (r routes) serveAsset(c *gin.Context) {
	a, ok := r.assets[strings.TrimPrefix(c.Param("file"), "/")]
	if !ok {
		c.Status(http.StatusNotFound)
		_ = c.Error(domain.NotFound("asset"))
		c.Abort()
		return
	}
	a.serve(c)
}
