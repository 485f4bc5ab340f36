package webui

import "github.com/chatd/chatd/internal/adapters/httpapi"

type routes struct{}

func newRoutes() routes { return routes{} }

// Mount is filled in with the page.
func (routes) Mount(httpapi.RouteGroups) {}
