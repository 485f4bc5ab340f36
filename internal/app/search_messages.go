package app

import (
	"context"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// SearchResult is one message found, as the caller sees it.
type SearchResult struct {
	Message      *domain.ChatMessage
	SessionTitle string
	// Snippet is plain text around the first match.
	Snippet string
}

// SearchMessages finds the caller's messages by their words: in every
// session the caller takes part in, or in one of them.
type SearchMessages struct {
	access *Access
	search ports.MessageSearch
}

// NewSearchMessages builds the use case.
func NewSearchMessages(access *Access, search ports.MessageSearch) *SearchMessages {
	return &SearchMessages{access: access, search: search}
}

// Handle checks q (Invalid "q" unless 1..200 characters, not only white
// space) and, when sessionID is given, that the caller may read that session
// (NotFound otherwise), then returns one page of results and their count.
// A q with nothing searchable in it finds nothing.
func (h *SearchMessages) Handle(ctx context.Context, caller Caller, q string, sessionID *string, page ports.Page) ([]SearchResult, int, error) {
	query, err := domain.ParseSearchQuery(q)
	if err != nil {
		return nil, 0, err
	}
	if sessionID != nil {
		if _, _, err := h.access.Session(ctx, caller, *sessionID); err != nil {
			return nil, 0, err
		}
	}
	if query.IsEmpty() {
		return []SearchResult{}, 0, nil
	}
	hits, total, err := h.search.Search(ctx, caller.UserID, query, sessionID, page)
	if err != nil {
		return nil, 0, err
	}
	out := make([]SearchResult, 0, len(hits))
	for _, hit := range hits {
		out = append(out, SearchResult{Message: hit.Message, SessionTitle: hit.SessionTitle,
			Snippet: domain.Snippet(hit.Message.Content(), query)})
	}
	return out, total, nil
}
