package storage

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

var _ ports.MessageRepository = (*MessageRepo)(nil)

// messageMutableColumns are what a message may change after it is created:
// its text and metadata while a reply generates, its outcome when it ends.
var messageMutableColumns = []string{
	"content", "llm_provider", "llm_model", "response_time_ms", "tokens_used",
	"error_message", "status", "message_metadata", "updated_at",
}

// MessageRepo stores messages.
type MessageRepo struct {
	db *DB
	// ancestors is prepared: every reply reads its history with it.
	ancestors *preparedRead
}

// NewMessageRepo returns the message repository over db.
func NewMessageRepo(db *DB) *MessageRepo {
	// CROSS JOIN keeps SQLite from scanning chat_messages once it has
	// statistics; PostgreSQL reads it as the inner join it is.
	ancestors := db.walkUp("?") + `SELECT ` + messageColumns + `
		FROM path CROSS JOIN chat_messages m WHERE m.` + db.pathRowKey() + ` = path.rk ORDER BY path.depth DESC`
	return &MessageRepo{db: db, ancestors: &preparedRead{query: ancestors, table: "chat_messages"}}
}

// CreateTurn stores the turn in one transaction. It locks the session row,
// reads its current message there (so concurrent posts form one chain, each
// following the one committed before it), attaches the turn, inserts it,
// and moves the session's current message, count and last activity by what
// was really inserted. Message inserts skip ids that already exist, so a turn
// stored twice (a retry after a lost answer) counts once; a reused
// idempotency key fails as Conflict "idempotency-key-exists" and stores nothing.
func (r *MessageRepo) CreateTurn(ctx context.Context, t ports.NewTurn) error {
	turn := make([]*domain.ChatMessage, 0, 2)
	for _, m := range []*domain.ChatMessage{t.Message, t.Reply} {
		if m != nil {
			turn = append(turn, m)
		}
	}
	if len(turn) == 0 {
		return errors.New("create turn: the turn has no message")
	}
	sessionID := turn[0].SessionID()
	if turn[len(turn)-1].SessionID() != sessionID {
		return errors.New("create turn: the reply belongs to another session")
	}
	if !isCanonicalID(sessionID) {
		return domain.NotFound("session")
	}
	err := r.db.inWriteTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		// Lock the session row first, as SessionRepo.Update does: taking it
		// only at the final UPDATE, after the inserts' foreign-key checks
		// took KEY SHARE on it, would be a lock upgrade that can deadlock
		// with a concurrent session edit on PostgreSQL.
		var session sessionRow
		err := r.db.forUpdate(tx.NewSelect().Model(&session).Column("s.id", "s.current_message_id").
			Where("s.id = ?", sessionID)).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return domain.NotFound("session")
		}
		if err != nil {
			return err
		}
		parentID := t.Placement.Resolve(session.CurrentMessageID)
		if t.Placement.Explicit() && parentID != nil {
			if err := checkInSession(ctx, tx, *parentID, sessionID, "parent_id"); err != nil {
				return err
			}
		}
		turn[0].AttachTo(parentID)
		if len(turn) == 2 {
			firstID := turn[0].ID()
			turn[1].AttachTo(&firstID)
		}
		var added int64
		var last time.Time
		for _, m := range turn {
			row, err := messageToRow(m)
			if err != nil {
				return err
			}
			if m == t.Reply && t.Lease.Owner != "" {
				until := dbTime(t.Lease.Until)
				row.OwnerID, row.LeaseExpiresAt = &t.Lease.Owner, &until
			}
			res, err := tx.NewInsert().Model(&row).On("CONFLICT (id) DO NOTHING").Exec(ctx)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			added += n
			if row.CreatedAt.After(last) {
				last = row.CreatedAt
			}
		}
		if t.Idempotency != nil {
			idem := idempotencyToRow(*t.Idempotency)
			if _, err := tx.NewInsert().Model(&idem).Exec(ctx); err != nil {
				if isUniqueViolation(err) {
					return domain.Conflict("idempotency-key-exists", "this Idempotency-Key was already used")
				}
				return err
			}
		}
		if added == 0 {
			return nil
		}
		// Last activity never moves backwards, whatever the clocks of
		// several processes say.
		_, err = tx.NewUpdate().Model((*sessionRow)(nil)).
			Set("message_count = message_count + ?", added).
			Set("current_message_id = ?", turn[len(turn)-1].ID()).
			Set("last_message_at = CASE WHEN last_message_at IS NULL OR last_message_at < ? THEN ? ELSE last_message_at END", last, last).
			Set("updated_at = CASE WHEN updated_at < ? THEN ? ELSE updated_at END", last, last).
			Where("s.id = ?", sessionID).
			Exec(ctx)
		return err
	})
	if isForeignKeyViolation(err) {
		return domain.NotFound("session")
	}
	return wrap("create turn", err)
}

// Get returns the message or NotFound("message").
func (r *MessageRepo) Get(ctx context.Context, id string) (*domain.ChatMessage, error) {
	if !isCanonicalID(id) {
		return nil, domain.NotFound("message")
	}
	var row messageRow
	err := r.db.read.NewSelect().Model(&row).Where("m.id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, domain.NotFound("message")
	}
	if err != nil {
		return nil, wrap("get message", err)
	}
	m, err := messageToDomain(row)
	return m, wrap("get message", err)
}

// List pages through the session's current branch (root first; desc:
// current first) or all its messages by creation time (id breaks ties, so
// pages never overlap), and counts what it selects.
func (r *MessageRepo) List(ctx context.Context, sessionID string, q ports.MessageQuery) ([]*domain.ChatMessage, int, error) {
	if !isCanonicalID(sessionID) {
		return []*domain.ChatMessage{}, 0, nil
	}
	if q.Branch == domain.BranchCurrent {
		return r.listBranch(ctx, sessionID, q)
	}
	dir := "ASC"
	if q.Order == ports.OrderDesc {
		dir = "DESC"
	}
	var rows []messageRow
	sel := r.db.read.NewSelect().Model(&rows).Where("m.session_id = ?", sessionID).
		OrderExpr("m.created_at " + dir).OrderExpr("m.id " + dir)
	total, err := paginate(sel, q.Page).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, wrap("list messages", err)
	}
	out, err := messagesToDomain(rows)
	if err != nil {
		return nil, 0, wrap("list messages", err)
	}
	return out, int(total), nil
}

// Update locks the message (FOR UPDATE on PostgreSQL), lets fn change it and
// stores its mutable columns. fn must not call the repositories (on SQLite
// it would wait for the connection this transaction holds).
func (r *MessageRepo) Update(ctx context.Context, id string, fn func(*domain.ChatMessage) error) (*domain.ChatMessage, error) {
	if !isCanonicalID(id) {
		return nil, domain.NotFound("message")
	}
	var out *domain.ChatMessage
	err := r.db.inWriteTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var row messageRow
		err := r.db.forUpdate(tx.NewSelect().Model(&row).Where("m.id = ?", id)).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return domain.NotFound("message")
		}
		if err != nil {
			return err
		}
		m, err := messageToDomain(row)
		if err != nil {
			return err
		}
		if err := fn(m); err != nil {
			return err
		}
		next, err := messageToRow(m)
		if err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model(&next).Column(messageMutableColumns...).WherePK().Exec(ctx); err != nil {
			return err
		}
		out, err = messageToDomain(next)
		return err
	})
	if err != nil {
		return nil, wrap("update message", err)
	}
	return out, nil
}

// Save stores the message's mutable columns; a message that is gone (its
// session was deleted mid-generation) is NotFound("message").
func (r *MessageRepo) Save(ctx context.Context, m *domain.ChatMessage) error {
	row, err := messageToRow(m)
	if err != nil {
		return wrap("save message", err)
	}
	if !isCanonicalID(row.ID) {
		return domain.NotFound("message")
	}
	var res sql.Result
	err = r.db.inWrite(ctx, func(ctx context.Context, w bun.IDB) (err error) {
		res, err = w.NewUpdate().Model(&row).Column(messageMutableColumns...).WherePK().Exec(ctx)
		return err
	})
	return wrap("save message", affectedOne(res, err, "message"))
}

// returnedMessageColumns are messageColumns for a RETURNING clause, which
// names the changed table's columns without its alias.
var returnedMessageColumns = strings.ReplaceAll(messageColumns, "m.", "")

var generating = bun.List([]string{string(domain.StatusPending), string(domain.StatusStreaming)})

// SaveReply stores the reply's mutable columns only while owner holds it
// and it is unfinished: one conditional UPDATE, so a process whose lease
// lapsed cannot overwrite the repair another process stored.
func (r *MessageRepo) SaveReply(ctx context.Context, m *domain.ChatMessage, owner string, deltas int) error {
	row, err := messageToRow(m)
	if err != nil {
		return wrap("save reply", err)
	}
	if !isCanonicalID(row.ID) {
		return domain.NotFound("message")
	}
	var res sql.Result
	err = r.db.inWrite(ctx, func(ctx context.Context, w bun.IDB) (err error) {
		q := w.NewUpdate().Model(&row).Column(messageMutableColumns...).Set("streamed_deltas = ?", deltas)
		if m.Status().IsFinal() {
			q = q.Set("lease_expires_at = NULL")
		}
		res, err = q.WherePK().Where("m.owner_id = ?", owner).Where("m.status IN (?)", generating).Exec(ctx)
		return err
	})
	if err == nil {
		if n, _ := res.RowsAffected(); n == 0 {
			return r.notSaved(ctx, row.ID)
		}
	}
	return wrap("save reply", err)
}

// notSaved tells why a reply's conditional save changed nothing: it is
// gone, or no longer this process's to write.
func (r *MessageRepo) notSaved(ctx context.Context, id string) error {
	exists, err := r.db.read.NewSelect().Model((*messageRow)(nil)).Where("m.id = ?", id).Exists(ctx)
	switch {
	case err != nil:
		return wrap("save reply", err)
	case !exists:
		return domain.NotFound("message")
	default:
		return domain.Conflict("reply-not-owned", "another process took this reply over")
	}
}

// Generating lists the session's unfinished replies, oldest first.
func (r *MessageRepo) Generating(ctx context.Context, sessionID string) ([]ports.GeneratingReply, error) {
	if !isCanonicalID(sessionID) {
		return nil, nil
	}
	var rows []messageRow
	err := r.db.read.NewSelect().Model(&rows).
		Where("m.session_id = ?", sessionID).Where("m.status IN (?)", generating).
		Order("m.created_at", "m.id").Scan(ctx)
	if err != nil {
		return nil, wrap("list generating replies", err)
	}
	out := make([]ports.GeneratingReply, 0, len(rows))
	for _, row := range rows {
		m, err := messageToDomain(row)
		if err != nil {
			return nil, wrap("list generating replies", err)
		}
		out = append(out, ports.GeneratingReply{Message: m, Deltas: row.StreamedDeltas})
	}
	return out, nil
}

// RenewLeases extends owner's leases on its unfinished replies.
func (r *MessageRepo) RenewLeases(ctx context.Context, owner string, until time.Time) error {
	_, err := r.db.write.NewUpdate().Model((*messageRow)(nil)).
		Set("lease_expires_at = ?", dbTime(until)).
		Where("m.owner_id = ?", owner).Where("m.status IN (?)", generating).
		Exec(ctx)
	return wrap("renew reply leases", err)
}

// RepairLapsed stores every unfinished reply without a live lease as
// interrupted, in one UPDATE … RETURNING: concurrent repairers each get
// the rows they changed, never the same row twice.
func (r *MessageRepo) RepairLapsed(ctx context.Context, lapsedBy, now time.Time, self string) ([]*domain.ChatMessage, error) {
	meta, err := metadataToJSON(domain.RepairedReplyMetadata())
	if err != nil {
		return nil, wrap("repair lapsed replies", err)
	}
	var rows []messageRow
	q := r.db.write.NewUpdate().Model((*messageRow)(nil))
	if self != "" {
		q = q.Where("m.owner_id IS NULL OR m.owner_id <> ?", self)
	}
	err = q.
		Set("status = ?", string(domain.StatusInterrupted)).
		Set("error_message = ?", domain.InterruptedReason).
		Set("message_metadata = ?", meta).
		Set("updated_at = ?", dbTime(now)).
		Set("lease_expires_at = NULL").
		Where("m.status IN (?)", generating).
		Where("m.lease_expires_at IS NULL OR m.lease_expires_at < ?", dbTime(lapsedBy)).
		Returning(returnedMessageColumns).
		Scan(ctx, &rows)
	if err != nil {
		return nil, wrap("repair lapsed replies", err)
	}
	return messagesToDomain(rows)
}

func messagesToDomain(rows []messageRow) ([]*domain.ChatMessage, error) {
	out := make([]*domain.ChatMessage, 0, len(rows))
	for _, row := range rows {
		m, err := messageToDomain(row)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
