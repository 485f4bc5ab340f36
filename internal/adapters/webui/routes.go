package webui

import (
	"net/http"

	"github.com/chatd/chatd/internal/adapters/httpapi"
	"github.com/chatd/chatd/internal/adapters/httpapi/embedded"
)

// Where the page lives: index.html at the root, its modules and styles
// under AssetsPath.
const (
	PagePath   = "/"
	AssetsPath = "/ui"
)

type routes struct {
	page   *embedded.File
	assets embedded.Dir
}

func newRoutes() routes {
	assets := loadAssets()
	return routes{page: assets["index.html"], assets: assets}
}

// Mount serves the page and its assets; none needs authentication (the page
// signs in through the API).
func (r routes) Mount(g httpapi.RouteGroups) {
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		g.Root.Handle(method, PagePath, r.page.Serve)
		g.Root.Handle(method, AssetsPath+"/*file", r.assets.Serve)
	}
}
