package ports

import (
	"context"

	"github.com/chatd/chatd/internal/domain"
)

// SearchHit is one message a search found, with its session's title.
type SearchHit struct {
	Message      *domain.ChatMessage
	SessionTitle string
}

// MessageSearch finds messages by their words.
type MessageSearch interface {
	// Search pages through the messages, of every branch, that contain every
	// term of q in the sessions userID takes part in (any role), only in
	// sessionID when it is given; best matches first, then newest. It counts
	// them all. An empty q finds nothing.
	Search(ctx context.Context, userID string, q domain.SearchQuery, sessionID *string, p Page) ([]SearchHit, int, error)
}
