package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/chatd/chatd/internal/adapters/wire"
	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
)

type searchRoutes struct {
	search *app.SearchMessages
}

func newSearchRoutes(search *app.SearchMessages) *searchRoutes {
	return &searchRoutes{search: search}
}

func (h *searchRoutes) Mount(g RouteGroups) {
	g.Authed.GET("/chat/search", handle(h.get))
}

type searchResultResponse struct {
	Message      wire.Message `json:"message"`
	SessionID    string       `json:"session_id"`
	SessionTitle string       `json:"session_title"`
	Snippet      string       `json:"snippet"`
}

type searchResponse struct {
	Results []searchResultResponse `json:"results"`
	pagination
}

// get is GET /chat/search?q&page&page_size&session_id. A malformed
// session_id is a bad query parameter (400) like any malformed id; what q
// may be is the use case's rule (422).
func (h *searchRoutes) get(c *gin.Context) error {
	page, err := pageParams(c)
	if err != nil {
		return err
	}
	var sessionID *string
	if raw, ok := c.GetQuery("session_id"); ok {
		id, ok := domain.ParseID(raw)
		if !ok {
			return badQuery("session_id", "must be a canonical lower-case UUID")
		}
		sessionID = &id
	}
	results, total, err := h.search.Handle(c.Request.Context(), callerOf(c), c.Query("q"), sessionID, page)
	if err != nil {
		return err
	}
	body := searchResponse{Results: make([]searchResultResponse, 0, len(results)), pagination: pageOf(page, total)}
	for _, r := range results {
		body.Results = append(body.Results, searchResultResponse{Message: wire.FromMessage(r.Message),
			SessionID: r.Message.SessionID(), SessionTitle: r.SessionTitle, Snippet: r.Snippet})
	}
	c.JSON(http.StatusOK, body)
	return nil
}
