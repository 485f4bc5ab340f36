package httpapi

import "github.com/chatd/chatd/internal/adapters/httpapi/apidocs"

// docsRoutes serves the OpenAPI document, Swagger UI and ReDoc.
type docsRoutes struct{}

func newDocsRoutes() *docsRoutes { return &docsRoutes{} }

func (docsRoutes) Mount(g RouteGroups) { apidocs.Register(g.Root) }
