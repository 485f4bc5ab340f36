package storage

import (
	"context"
	"database/sql"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

var _ ports.ExportReader = (*ExportRepo)(nil)

// ExportRepo reads history for export through a cursor (bun's Rows) and in
// small batches, so a whole account streams out in constant memory.
type ExportRepo struct{ db *DB }

// NewExportRepo returns the export reader over db.
func NewExportRepo(db *DB) *ExportRepo { return &ExportRepo{db: db} }

// exportSessionBatch is how many sessions OwnedSessions reads at a time.
const exportSessionBatch = 100

// OwnedSessions walks the sessions ownerID owns, oldest first, a batch at a
// time (keyset on created_at, id), and calls fn with no cursor of its own
// open: fn opens the messages' cursor, and nesting cursors would let a few
// concurrent exports take every SQLite read connection and wait forever
// for one more.
func (r *ExportRepo) OwnedSessions(ctx context.Context, ownerID string, fn func(*domain.ChatSession) error) error {
	if !isCanonicalID(ownerID) {
		return nil
	}
	var after *sessionRow
	for {
		var rows []sessionRow
		// s.* and not the model's columns: current_message_id is scan-only.
		q := r.db.read.NewSelect().Model(&rows).ColumnExpr("s.*").Where("s.user_id = ?", ownerID)
		if after != nil {
			q = q.Where("(s.created_at > ? OR (s.created_at = ? AND s.id > ?))", after.CreatedAt, after.CreatedAt, after.ID)
		}
		if err := q.OrderExpr("s.created_at ASC").OrderExpr("s.id ASC").Limit(exportSessionBatch).Scan(ctx); err != nil {
			return wrap("export sessions", err)
		}
		for _, row := range rows {
			s, err := sessionToDomain(row)
			if err != nil {
				return wrap("export sessions", err)
			}
			if err := fn(s); err != nil {
				return err
			}
		}
		if len(rows) < exportSessionBatch {
			return nil
		}
		after = &rows[len(rows)-1]
	}
}

// SessionMessages walks one session's messages, every branch, in time order.
func (r *ExportRepo) SessionMessages(ctx context.Context, sessionID string, fn func(*domain.ChatMessage) error) error {
	if !isCanonicalID(sessionID) {
		return nil
	}
	rows, err := r.db.read.NewSelect().Model((*messageRow)(nil)).
		Where("m.session_id = ?", sessionID).OrderExpr("m.created_at ASC").OrderExpr("m.id ASC").Rows(ctx)
	if err != nil {
		return wrap("export messages", err)
	}
	defer func() { _ = rows.Close() }()
	return eachRow(ctx, r, rows, "export messages", func(row *messageRow) (*domain.ChatMessage, error) {
		return messageToDomain(*row)
	}, fn)
}

// eachRow scans one row at a time, converts it and hands it to fn. fn's
// errors (a client that went away) pass as they are: they are not the
// database failing.
func eachRow[R, D any](ctx context.Context, r *ExportRepo, rows *sql.Rows, op string, convert func(*R) (D, error),
	fn func(D) error,
) error {
	for rows.Next() {
		var row R
		if err := r.db.read.ScanRow(ctx, rows, &row); err != nil {
			return wrap(op, err)
		}
		v, err := convert(&row)
		if err != nil {
			return wrap(op, err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	return wrap(op, rows.Err())
}
