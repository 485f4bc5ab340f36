package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

var _ ports.ImportRepository = (*ImportRepo)(nil)

// importChunk is how many rows one INSERT carries: large enough that a
// 10,000-message import is a few dozen statements, small enough that a
// statement stays far below either dialect's limits.
const importChunk = 400

type importKeyRow struct {
	bun.BaseModel `bun:"table:import_keys,alias:ik"`

	UserID      string    `bun:"user_id,pk"`
	Key         string    `bun:"key,pk"`
	RequestHash string    `bun:"request_hash"`
	Result      string    `bun:"result"`
	CreatedAt   time.Time `bun:"created_at"`
}

// importResultJSON is the stored form of ports.ImportResult; its keys are a
// file format.
type importResultJSON struct {
	Sessions []importedSummaryJSON `json:"sessions"`
	Skipped  []importSkipJSON      `json:"skipped"`
}

type importedSummaryJSON struct {
	ID           string `json:"id"`
	Title        string `json:"title"`
	MessageCount int    `json:"message_count"`
}

type importSkipJSON struct {
	Index  int    `json:"index"`
	Reason string `json:"reason"`
}

// ImportRepo stores imported conversations in bulk.
type ImportRepo struct{ db *DB }

// NewImportRepo returns the import repository over db.
func NewImportRepo(db *DB) *ImportRepo { return &ImportRepo{db: db} }

// Import converts everything first, then stores it in one write transaction
// with multi-row inserts: sessions, their owners, messages (parents first,
// which each session's list already is) and, last, each session's current
// message, which only this explicit UPDATE writes.
func (r *ImportRepo) Import(ctx context.Context, sessions []domain.ImportedSession, key *ports.ImportKey) error {
	sessionRows := make([]sessionRow, 0, len(sessions))
	owners := make([]participantRow, 0, len(sessions))
	var messageRows []messageRow
	for _, s := range sessions {
		row, err := sessionToRow(s.Session)
		if err != nil {
			return wrap("import", err)
		}
		sessionRows = append(sessionRows, row)
		owners = append(owners, participantRow{SessionID: row.ID, UserID: row.UserID,
			Role: string(domain.ParticipantOwner), CreatedAt: row.CreatedAt})
		for _, m := range s.Messages {
			mr, err := messageToRow(m)
			if err != nil {
				return wrap("import", err)
			}
			messageRows = append(messageRows, mr)
		}
	}
	var keyRow *importKeyRow
	if key != nil {
		row, err := importKeyToRow(*key)
		if err != nil {
			return wrap("import", err)
		}
		keyRow = &row
	}
	err := r.db.inWriteTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		// The key first: a retry racing the first request fails here, before
		// it writes anything.
		if keyRow != nil {
			if _, err := tx.NewInsert().Model(keyRow).Exec(ctx); err != nil {
				if isUniqueViolation(err) {
					return domain.Conflict("idempotency-key-exists", "this Idempotency-Key was already used")
				}
				return err
			}
		}
		if err := insertChunks(ctx, tx, sessionRows); err != nil {
			return err
		}
		if err := insertChunks(ctx, tx, owners); err != nil {
			return err
		}
		if err := insertChunks(ctx, tx, messageRows); err != nil {
			return err
		}
		for _, s := range sessions {
			if _, err := tx.NewUpdate().Model((*sessionRow)(nil)).
				Set("current_message_id = ?", s.Session.CurrentMessageID()).
				Where("s.id = ?", s.Session.ID()).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if isForeignKeyViolation(err) {
		return domain.NotFound("user")
	}
	return wrap("import", err)
}

// insertChunks inserts rows a chunk at a time; one statement's rows may
// reference each other (a message and its parent), since both dialects
// check foreign keys at the end of the statement.
func insertChunks[T any](ctx context.Context, tx bun.Tx, rows []T) error {
	for start := 0; start < len(rows); start += importChunk {
		chunk := rows[start:min(start+importChunk, len(rows))]
		if _, err := tx.NewInsert().Model(&chunk).Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

// ImportKey returns the record of userID's key or NotFound("idempotency-key").
func (r *ImportRepo) ImportKey(ctx context.Context, userID, key string) (ports.ImportKey, error) {
	if !isCanonicalID(userID) {
		return ports.ImportKey{}, domain.NotFound("idempotency-key")
	}
	var row importKeyRow
	err := r.db.read.NewSelect().Model(&row).Where("ik.user_id = ?", userID).Where("ik.key = ?", key).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return ports.ImportKey{}, domain.NotFound("idempotency-key")
	}
	if err != nil {
		return ports.ImportKey{}, wrap("get import key", err)
	}
	k, err := importKeyToPort(row)
	return k, wrap("get import key", err)
}

func importKeyToRow(k ports.ImportKey) (importKeyRow, error) {
	res := importResultJSON{Sessions: []importedSummaryJSON{}, Skipped: []importSkipJSON{}}
	for _, s := range k.Result.Sessions {
		res.Sessions = append(res.Sessions, importedSummaryJSON{ID: s.ID, Title: s.Title, MessageCount: s.MessageCount})
	}
	for _, s := range k.Result.Skipped {
		res.Skipped = append(res.Skipped, importSkipJSON{Index: s.Index, Reason: s.Reason})
	}
	b, err := json.Marshal(res)
	if err != nil {
		return importKeyRow{}, fmt.Errorf("encode import result: %w", err)
	}
	return importKeyRow{UserID: k.UserID, Key: k.Key, RequestHash: k.RequestHash, Result: string(b),
		CreatedAt: dbTime(k.CreatedAt)}, nil
}

func importKeyToPort(r importKeyRow) (ports.ImportKey, error) {
	var res importResultJSON
	if err := json.Unmarshal([]byte(r.Result), &res); err != nil {
		return ports.ImportKey{}, fmt.Errorf("decode import result: %w", err)
	}
	out := ports.ImportKey{UserID: r.UserID, Key: r.Key, RequestHash: r.RequestHash, CreatedAt: domainTime(r.CreatedAt),
		Result: ports.ImportResult{Sessions: []ports.ImportedSummary{}, Skipped: []ports.ImportSkip{}}}
	for _, s := range res.Sessions {
		out.Result.Sessions = append(out.Result.Sessions, ports.ImportedSummary{ID: s.ID, Title: s.Title, MessageCount: s.MessageCount})
	}
	for _, s := range res.Skipped {
		out.Result.Skipped = append(out.Result.Skipped, ports.ImportSkip{Index: s.Index, Reason: s.Reason})
	}
	return out, nil
}
