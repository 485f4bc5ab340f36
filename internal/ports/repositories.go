// Package ports declares what the core needs from the world. It imports the
// domain and the standard library only.
package ports

import (
	"context"
	"errors"
	"time"

	"github.com/chatd/chatd/internal/domain"
)

// Page selects one page of a list; Number starts at 1.
type Page struct {
	Number int
	Size   int
}

// Offset is the number of rows before this page.
func (p Page) Offset() int { return (p.Number - 1) * p.Size }

// UserRepository stores accounts.
type UserRepository interface {
	// Create fails with a Conflict when the email is taken.
	Create(ctx context.Context, u *domain.User) error
	GetByID(ctx context.Context, id string) (*domain.User, error)
	GetByEmail(ctx context.Context, email string) (*domain.User, error)
}

// SessionFilter narrows a session list.
type SessionFilter struct {
	IsActive *bool
	Provider *domain.Provider
}

// SessionRepository stores sessions and their participants.
type SessionRepository interface {
	// Create stores a session with its owner as first participant.
	Create(ctx context.Context, s *domain.ChatSession) error
	Get(ctx context.Context, id string) (*domain.ChatSession, error)
	// Update loads the session, lets fn change it, and stores the result in one transaction.
	Update(ctx context.Context, id string, fn func(*domain.ChatSession) error) (*domain.ChatSession, error)
	// Delete removes the session, its participants and its messages.
	Delete(ctx context.Context, id string) error
	// ListForUser lists sessions the user owns or participates in, newest activity first.
	ListForUser(ctx context.Context, userID string, f SessionFilter, p Page) ([]*domain.ChatSession, int, error)

	// Participant returns the user's membership, or NotFound.
	Participant(ctx context.Context, sessionID, userID string) (domain.Participant, error)
	// Membership returns the session and the user's membership of it, read
	// together, or NotFound (participant) when either is missing.
	Membership(ctx context.Context, sessionID, userID string) (*domain.ChatSession, domain.Participant, error)
	Participants(ctx context.Context, sessionID string) ([]domain.Participant, error)
	// AddParticipant fails with a Conflict when the user is already a participant.
	AddParticipant(ctx context.Context, p domain.Participant) error
	RemoveParticipant(ctx context.Context, sessionID, userID string) error
}

// Order is a list order by creation time.
type Order string

const (
	OrderAsc  Order = "asc"
	OrderDesc Order = "desc"
)

// NewTurn is what one post stores atomically: the posted message and the
// reply placeholder (either may be absent, not both), and the idempotency
// record when the client sent a key. Placement says where the turn attaches;
// the reply follows the posted message.
type NewTurn struct {
	Message     *domain.ChatMessage
	Reply       *domain.ChatMessage
	Idempotency *domain.IdempotencyRecord
	Placement   domain.Placement
	// Lease is the generating process's hold on Reply.
	Lease ReplyLease
}

// MessageQuery selects a page of a session's messages.
type MessageQuery struct {
	Branch domain.Branch
	Order  Order
	Page   Page
}

// DeletedSubtree is what a delete removed and where it left the session.
type DeletedSubtree struct {
	IDs     []string // the deleted message first, then the rest
	Session *domain.ChatSession
}

// MessageRepository stores messages and the tree they form.
type MessageRepository interface {
	// CreateTurn stores the turn in one transaction: it reads the session's
	// current message under the session's lock, attaches the turn as its
	// Placement says (a parent of another session is Invalid "parent_id"),
	// moves the session's current message to the turn's last message and
	// bumps its message count and last activity. An idempotency key already
	// used fails with a Conflict whose code is "idempotency-key-exists".
	CreateTurn(ctx context.Context, t NewTurn) error
	Get(ctx context.Context, id string) (*domain.ChatMessage, error)
	// List pages through the session's current branch (root first) or all
	// its messages (time order) and counts what the query selects.
	List(ctx context.Context, sessionID string, q MessageQuery) ([]*domain.ChatMessage, int, error)
	// Ancestors returns the path from a first message down to messageID
	// (included), at most limit messages of its end when limit > 0; one query.
	Ancestors(ctx context.Context, messageID string, limit int) ([]*domain.ChatMessage, error)
	// SiblingIDs returns, for each message given, the ids of every message
	// with the same parent in its session, oldest first, itself included.
	SiblingIDs(ctx context.Context, sessionID string, of []*domain.ChatMessage) (map[string][]string, error)
	// SwitchBranch moves the session's current message to the newest leaf
	// under messageID (at each step the newest child). A message of another
	// session is Invalid "current_message_id".
	SwitchBranch(ctx context.Context, sessionID, messageID string, now time.Time) (*domain.ChatSession, error)
	// DeleteSubtree removes the message and everything under it in one
	// transaction; a current branch that ran through it moves to the newest
	// leaf under its parent.
	DeleteSubtree(ctx context.Context, messageID string, now time.Time) (DeletedSubtree, error)
	// Update loads the message, lets fn change it, and stores the result in one transaction.
	Update(ctx context.Context, id string, fn func(*domain.ChatMessage) error) (*domain.ChatMessage, error)
	// Save stores the message's current state.
	Save(ctx context.Context, m *domain.ChatMessage) error
	// SaveReply stores a generating reply's progress or end for the process
	// that generates it. It is Conflict "reply-not-owned" when owner no
	// longer holds the reply (its lease lapsed and another process repaired
	// it), so a late writer never overwrites a newer state. A final state
	// ends the lease.
	// deltas is how many of the reply's delta events the text holds.
	SaveReply(ctx context.Context, m *domain.ChatMessage, owner string, deltas int) error
	// Generating lists the session's unfinished replies as stored, oldest
	// first, each with how many of its delta events the stored text holds.
	Generating(ctx context.Context, sessionID string) ([]GeneratingReply, error)
	// RenewLeases extends owner's leases on the replies it generates to until.
	RenewLeases(ctx context.Context, owner string, until time.Time) error
	// RepairLapsed stores as interrupted at now, with their text, the
	// replies left pending or streaming whose lease lapsed before lapsedBy
	// (their process died) or that never had one, and returns them. Each is
	// returned to exactly one caller, however many processes repair at once.
	// Replies leased to self (the caller's own owner id; empty: none) are
	// left alone: their process is the caller, alive, and stores their ends
	// itself, even when a slow database let their lease lapse.
	RepairLapsed(ctx context.Context, lapsedBy, now time.Time, self string) ([]*domain.ChatMessage, error)
}

// GeneratingReply is an unfinished reply as stored: its text holds its
// first Deltas delta events.
type GeneratingReply struct {
	Message *domain.ChatMessage
	Deltas  int
}

// ReplyLease is who generates a new reply, and until when at least.
type ReplyLease struct {
	Owner string
	Until time.Time
}

// IdempotencyRepository finds what a keyed post created earlier.
type IdempotencyRepository interface {
	Get(ctx context.Context, userID, key string) (domain.IdempotencyRecord, error)
}

// RefreshTokenRepository stores refresh-token families.
type RefreshTokenRepository interface {
	// Create stores t, unless its family was revoked: then it fails with
	// ErrFamilyRevoked, so a rotation that lost a race with a reuse
	// leaves no live token behind.
	Create(ctx context.Context, t domain.RefreshToken) error
	GetByHash(ctx context.Context, hash string) (domain.RefreshToken, error)
	// MarkUsed sets used_at only if it is still unset; false means another
	// request used it first.
	MarkUsed(ctx context.Context, id string, at time.Time) (bool, error)
	RevokeFamily(ctx context.Context, familyID string, at time.Time) error
}

// ErrFamilyRevoked refuses a new refresh token in a revoked family.
var ErrFamilyRevoked = errors.New("refresh token family revoked")

// StatsReader aggregates stored data. A nil userID means the whole deployment.
type StatsReader interface {
	Stats(ctx context.Context, userID *string) (domain.Stats, error)
}

// UsageReader tells how many tokens a user's replies used, for budgets.
type UsageReader interface {
	// TokensUsedSince sums tokens_used of the replies the user asked for
	// that were created at or after since.
	TokensUsedSince(ctx context.Context, userID string, since time.Time) (int, error)
}

// HealthChecker tells whether storage answers.
type HealthChecker interface {
	Ping(ctx context.Context) error
}
