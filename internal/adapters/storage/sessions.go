package storage

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

var _ ports.SessionRepository = (*SessionRepo)(nil)

// SessionRepo stores sessions and their participants.
type SessionRepo struct {
	db *DB
	// membership is prepared: every request to a session's routes asks it.
	membership *preparedRead
}

// NewSessionRepo returns the session repository over db.
func NewSessionRepo(db *DB) *SessionRepo {
	return &SessionRepo{db: db, membership: &preparedRead{table: "chat_sessions", query: "SELECT s.*, " +
		"p.role AS participant_role, p.created_at AS participant_since FROM chat_sessions AS s " +
		"JOIN session_participants AS p ON p.session_id = s.id AND p.user_id = ? WHERE s.id = ?"}}
}

// Create stores the session and its owner as first participant, together.
func (r *SessionRepo) Create(ctx context.Context, s *domain.ChatSession) error {
	row, err := sessionToRow(s)
	if err != nil {
		return wrap("create session", err)
	}
	owner := participantRow{SessionID: row.ID, UserID: row.UserID, Role: string(domain.ParticipantOwner), CreatedAt: row.CreatedAt}
	if r.db.isPostgres() {
		// One statement is atomic on its own, and a round trip instead of
		// four (BEGIN, two INSERTs, COMMIT) while a connection is held.
		_, err = r.db.write.NewInsert().With("session", r.db.write.NewInsert().Model(&row)).Model(&owner).Exec(ctx)
	} else {
		err = r.db.inWriteTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
				return err
			}
			_, err := tx.NewInsert().Model(&owner).Exec(ctx)
			return err
		})
	}
	if isForeignKeyViolation(err) {
		return domain.NotFound("user")
	}
	return wrap("create session", err)
}

// Get returns the session or NotFound("session").
func (r *SessionRepo) Get(ctx context.Context, id string) (*domain.ChatSession, error) {
	if !isCanonicalID(id) {
		return nil, domain.NotFound("session")
	}
	var row sessionRow
	err := r.db.read.NewSelect().Model(&row).Where("s.id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, domain.NotFound("session")
	}
	if err != nil {
		return nil, wrap("get session", err)
	}
	s, err := sessionToDomain(row)
	return s, wrap("get session", err)
}

// Update locks the session (FOR UPDATE on PostgreSQL; SQLite's write
// transaction excludes other writers), lets fn change it and stores the
// fields a session edit may change. The count and last activity belong to
// CreateTurn and are left alone. fn runs inside the transaction: it must not
// call the repositories (on SQLite it would wait for the connection it holds).
func (r *SessionRepo) Update(ctx context.Context, id string, fn func(*domain.ChatSession) error) (*domain.ChatSession, error) {
	if !isCanonicalID(id) {
		return nil, domain.NotFound("session")
	}
	var out *domain.ChatSession
	err := r.db.inWriteTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var row sessionRow
		err := r.db.forUpdate(tx.NewSelect().Model(&row).Where("s.id = ?", id)).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return domain.NotFound("session")
		}
		if err != nil {
			return err
		}
		s, err := sessionToDomain(row)
		if err != nil {
			return err
		}
		if err := fn(s); err != nil {
			return err
		}
		next, err := sessionToRow(s)
		if err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model(&next).
			Column("title", "llm_provider", "llm_model", "settings", "is_active", "updated_at").
			WherePK().Exec(ctx); err != nil {
			return err
		}
		// Answer what was stored (times at storage precision), not fn's copy.
		out, err = sessionToDomain(next)
		return err
	})
	if err != nil {
		return nil, wrap("update session", err)
	}
	return out, nil
}

// Delete removes the session; foreign keys cascade to its participants,
// messages and idempotency records.
func (r *SessionRepo) Delete(ctx context.Context, id string) error {
	if !isCanonicalID(id) {
		return domain.NotFound("session")
	}
	res, err := r.db.write.NewDelete().Model((*sessionRow)(nil)).Where("s.id = ?", id).Exec(ctx)
	return wrap("delete session", affectedOne(res, err, "session"))
}

// ListForUser lists the sessions userID takes part in (owner included),
// newest activity first, and how many there are in all.
func (r *SessionRepo) ListForUser(ctx context.Context, userID string, f ports.SessionFilter, p ports.Page) ([]*domain.ChatSession, int, error) {
	if !isCanonicalID(userID) {
		return []*domain.ChatSession{}, 0, nil
	}
	var rows []sessionRow
	q := r.db.read.NewSelect().Model(&rows).
		Join("JOIN session_participants AS p ON p.session_id = s.id").
		Where("p.user_id = ?", userID)
	if f.IsActive != nil {
		q = q.Where("s.is_active = ?", *f.IsActive)
	}
	if f.Provider != nil {
		q = q.Where("s.llm_provider = ?", string(*f.Provider))
	}
	// The same expression as chat_sessions_activity_idx, so the index serves it.
	q = q.OrderExpr("COALESCE(s.last_message_at, s.created_at) DESC").OrderExpr("s.id DESC")
	total, err := paginate(q, p).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, wrap("list sessions", err)
	}
	out := make([]*domain.ChatSession, 0, len(rows))
	for _, row := range rows {
		s, err := sessionToDomain(row)
		if err != nil {
			return nil, 0, wrap("list sessions", err)
		}
		out = append(out, s)
	}
	return out, int(total), nil
}

// Participant returns userID's membership of sessionID or NotFound("participant").
func (r *SessionRepo) Participant(ctx context.Context, sessionID, userID string) (domain.Participant, error) {
	if !isCanonicalID(sessionID) || !isCanonicalID(userID) {
		return domain.Participant{}, domain.NotFound("participant")
	}
	var row participantRow
	err := r.db.read.NewSelect().Model(&row).
		Where("p.session_id = ?", sessionID).Where("p.user_id = ?", userID).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Participant{}, domain.NotFound("participant")
	}
	if err != nil {
		return domain.Participant{}, wrap("get participant", err)
	}
	return participantToDomain(row), nil
}

// membershipRow is a session with one user's membership of it.
type membershipRow struct {
	sessionRow `bun:",extend"`

	ParticipantRole  string    `bun:"participant_role"`
	ParticipantSince time.Time `bun:"participant_since"`
}

// Membership returns the session and the user's membership of it in one
// query (every session route asks both), or NotFound when either is missing.
func (r *SessionRepo) Membership(ctx context.Context, sessionID, userID string) (*domain.ChatSession, domain.Participant, error) {
	if !isCanonicalID(sessionID) || !isCanonicalID(userID) {
		return nil, domain.Participant{}, domain.NotFound("participant")
	}
	var row membershipRow
	err := r.membership.queryRow(ctx, r.db, &row, userID, sessionID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, domain.Participant{}, domain.NotFound("participant")
	}
	if err != nil {
		return nil, domain.Participant{}, wrap("get membership", err)
	}
	s, err := sessionToDomain(row.sessionRow)
	if err != nil {
		return nil, domain.Participant{}, wrap("get membership", err)
	}
	return s, participantToDomain(participantRow{SessionID: sessionID, UserID: userID,
		Role: row.ParticipantRole, CreatedAt: row.ParticipantSince}), nil
}

// Participants lists a session's members in the order they joined.
func (r *SessionRepo) Participants(ctx context.Context, sessionID string) ([]domain.Participant, error) {
	out := []domain.Participant{}
	if !isCanonicalID(sessionID) {
		return out, nil
	}
	var rows []participantRow
	err := r.db.read.NewSelect().Model(&rows).Where("p.session_id = ?", sessionID).
		OrderExpr("p.created_at ASC").OrderExpr("p.user_id ASC").Scan(ctx)
	if err != nil {
		return nil, wrap("list participants", err)
	}
	for _, row := range rows {
		out = append(out, participantToDomain(row))
	}
	return out, nil
}

// AddParticipant inserts p; a user already in the session is a Conflict
// "already-participant", a missing session or user is NotFound.
func (r *SessionRepo) AddParticipant(ctx context.Context, p domain.Participant) error {
	if !isCanonicalID(p.SessionID) {
		return domain.NotFound("session")
	}
	if !isCanonicalID(p.UserID) {
		return domain.NotFound("user")
	}
	row := participantToRow(p)
	_, err := r.db.write.NewInsert().Model(&row).Exec(ctx)
	switch {
	case isUniqueViolation(err):
		return domain.Conflict("already-participant", "this user already takes part in the session")
	case isForeignKeyViolation(err):
		return r.missingParent(ctx, p.UserID)
	}
	return wrap("add participant", err)
}

// missingParent tells which parent a failed participant insert lacked:
// neither dialect's foreign-key error names it reliably.
func (r *SessionRepo) missingParent(ctx context.Context, userID string) error {
	exists, err := r.db.read.NewSelect().Model((*userRow)(nil)).Where("u.id = ?", userID).Exists(ctx)
	if err != nil {
		return wrap("add participant", err)
	}
	if !exists {
		return domain.NotFound("user")
	}
	return domain.NotFound("session")
}

// RemoveParticipant deletes the membership or answers NotFound("participant").
func (r *SessionRepo) RemoveParticipant(ctx context.Context, sessionID, userID string) error {
	if !isCanonicalID(sessionID) || !isCanonicalID(userID) {
		return domain.NotFound("participant")
	}
	res, err := r.db.write.NewDelete().Model((*participantRow)(nil)).
		Where("p.session_id = ?", sessionID).Where("p.user_id = ?", userID).Exec(ctx)
	return wrap("remove participant", affectedOne(res, err, "participant"))
}

// paginate applies a page; a page without a size means everything.
func paginate(q *bun.SelectQuery, p ports.Page) *bun.SelectQuery {
	if p.Size <= 0 {
		return q
	}
	q = q.Limit(int64(p.Size))
	if off := p.Offset(); off > 0 {
		q = q.Offset(int64(off))
	}
	return q
}

// affectedOne turns "no row matched" into NotFound(what).
func affectedOne(res sql.Result, err error, what string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return domain.NotFound(what)
	}
	return nil
}
