package ports

import (
	"context"
	"time"

	"github.com/chatd/chatd/internal/domain"
)

// ImportResult is what an import answers: the sessions it stored and the
// conversations it skipped, both in the file's order.
type ImportResult struct {
	Sessions []ImportedSummary
	Skipped  []ImportSkip
}

// ImportedSummary names one stored session.
type ImportedSummary struct {
	ID           string
	Title        string
	MessageCount int
}

// ImportSkip says why the conversation at Index (from 0) was not imported.
type ImportSkip struct {
	Index  int
	Reason string
}

// ImportKey remembers what a keyed import answered, so that a retry with
// the same key and body answers the same and stores nothing.
type ImportKey struct {
	UserID      string
	Key         string
	RequestHash string
	Result      ImportResult
	CreatedAt   time.Time
}

// ImportRepository stores imported conversations.
type ImportRepository interface {
	// Import stores every session (with its owner as participant, its
	// messages, counters and current message) and the key when given, in one
	// transaction: all or nothing. A key already used fails with a Conflict
	// whose code is "idempotency-key-exists".
	Import(ctx context.Context, sessions []domain.ImportedSession, key *ImportKey) error
	// ImportKey returns the record of the user's key or NotFound("idempotency-key").
	ImportKey(ctx context.Context, userID, key string) (ImportKey, error)
}

// ExportReader reads history for export a row (or a small batch) at a
// time, so memory does not grow with it.
type ExportReader interface {
	// OwnedSessions calls fn for every session the user owns, oldest first,
	// with no cursor open, so fn may call SessionMessages.
	OwnedSessions(ctx context.Context, ownerID string, fn func(*domain.ChatSession) error) error
	// SessionMessages calls fn for every message of the session, all
	// branches, in time order (id breaks ties), from a cursor: fn must not
	// read or write through another repository meanwhile.
	SessionMessages(ctx context.Context, sessionID string, fn func(*domain.ChatMessage) error) error
}
