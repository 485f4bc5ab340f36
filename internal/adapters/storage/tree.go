package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// The tree's reads and writes. Each walk is one recursive query, the same
// SQL on both dialects: a path up from a message, a subtree down from it, or
// the newest leaf under it.

// maxTreeDepth stops every walk: parents are always stored before their
// children, so a cycle cannot be made, but a walk must end even on a
// database someone edited by hand.
const maxTreeDepth = 1 << 20

// messageColumns are the columns of messageRow, for hand-written queries
// (the table may hold more, such as a search index).
const messageColumns = `m.id, m.session_id, m.user_id, m.parent_id, m.role, m.content, m.llm_provider,
	m.llm_model, m.response_time_ms, m.tokens_used, m.error_message, m.status, m.message_metadata,
	m.created_at, m.updated_at, m.owner_id, m.lease_expires_at,
	m.streamed_deltas`

// pathUp walks from the message the anchor selects up to its first message;
// depth counts from that message (0) upwards, and rk is the key that reads
// a message's row fastest (see pathRowKey).
const pathUp = `WITH RECURSIVE path(id, parent_id, depth, rk) AS (
	SELECT a.id, a.parent_id, 0, a.%[2]s FROM chat_messages a WHERE a.id = (%[1]s)
	UNION ALL
	SELECT a.id, a.parent_id, path.depth + 1, a.%[2]s FROM chat_messages a JOIN path ON a.id = path.parent_id
	WHERE path.depth < ?
) `

// pathRowKey is what a walk carries to read whole rows afterwards: SQLite's
// rowid, one descent of the table's integer B-tree instead of the text key's
// index and then the table; PostgreSQL's id.
func (db *DB) pathRowKey() string {
	if db.isPostgres() {
		return "id"
	}
	return "rowid"
}

// walkUp is pathUp from the anchor, with this dialect's row key.
func (db *DB) walkUp(anchor string) string {
	return fmt.Sprintf(pathUp, anchor, db.pathRowKey())
}

// subtreeDown lists a message and everything under it, nearest first.
const subtreeDown = `WITH RECURSIVE sub(id, depth) AS (
	SELECT a.id, 0 FROM chat_messages a WHERE a.id = ?
	UNION ALL
	SELECT c.id, sub.depth + 1 FROM chat_messages c JOIN sub ON c.parent_id = sub.id WHERE sub.depth < ?
) SELECT id FROM sub ORDER BY depth`

// newestLeafDown follows the newest child at each step from a message down.
const newestLeafDown = `WITH RECURSIVE down(id, depth) AS (
	SELECT a.id, 0 FROM chat_messages a WHERE a.id = ?
	UNION ALL
	SELECT (SELECT c.id FROM chat_messages c WHERE c.parent_id = down.id ORDER BY c.created_at DESC, c.id DESC LIMIT 1),
		down.depth + 1
	FROM down WHERE down.id IS NOT NULL AND down.depth < ?
) SELECT id FROM down WHERE id IS NOT NULL ORDER BY depth DESC LIMIT 1`

// branchRow is a message of a listed branch with the branch's length.
type branchRow struct {
	messageRow `bun:",extend"`
	Total      int `bun:"total_count"`
}

// Ancestors returns the path down to messageID, oldest first, at most limit
// messages of its end when limit > 0.
func (r *MessageRepo) Ancestors(ctx context.Context, messageID string, limit int) ([]*domain.ChatMessage, error) {
	if !isCanonicalID(messageID) {
		return []*domain.ChatMessage{}, nil
	}
	depth := maxTreeDepth
	if limit > 0 {
		depth = limit - 1
	}
	var rows []messageRow
	if err := r.ancestors.queryRows(ctx, r.db, &rows, messageID, depth); err != nil {
		return nil, wrap("ancestors", err)
	}
	out, err := messagesToDomain(rows)
	return out, wrap("ancestors", err)
}

// listBranch pages through the path from the first message down to the
// session's current message in one query: the walk carries ids only, and
// only the page's rows are read whole.
func (r *MessageRepo) listBranch(ctx context.Context, sessionID string, q ports.MessageQuery) ([]*domain.ChatMessage, int, error) {
	dir := "DESC" // depth counts up from the current message: root first
	if q.Order == ports.OrderDesc {
		dir = "ASC"
	}
	limit, offset := -1, 0
	if q.Page.Size > 0 {
		limit, offset = q.Page.Size, q.Page.Offset()
	}
	if r.db.isPostgres() && limit < 0 {
		limit = maxTreeDepth // PostgreSQL has no LIMIT -1
	}
	query := r.db.walkUp("SELECT s.current_message_id FROM chat_sessions s WHERE s.id = ?") +
		`, page AS (SELECT rk, depth FROM path ORDER BY depth ` + dir + ` LIMIT ? OFFSET ?)
		SELECT ` + messageColumns + `, (SELECT COUNT(*) FROM path) AS total_count
		FROM page CROSS JOIN chat_messages m WHERE m.` + r.db.pathRowKey() + ` = page.rk ORDER BY page.depth ` + dir
	var rows []branchRow
	if err := r.db.read.NewRaw(query, sessionID, maxTreeDepth, limit, offset).Scan(ctx, &rows); err != nil {
		return nil, 0, wrap("list branch", err)
	}
	total := 0
	msgs := make([]messageRow, 0, len(rows))
	for _, row := range rows {
		msgs = append(msgs, row.messageRow)
		total = row.Total
	}
	if len(rows) == 0 && offset > 0 {
		// A page past the end holds no row to carry the count.
		count := r.db.walkUp("SELECT s.current_message_id FROM chat_sessions s WHERE s.id = ?") +
			`SELECT COUNT(*) FROM path`
		if err := r.db.read.NewRaw(count, sessionID, maxTreeDepth).Scan(ctx, &total); err != nil {
			return nil, 0, wrap("list branch", err)
		}
	}
	out, err := messagesToDomain(msgs)
	if err != nil {
		return nil, 0, wrap("list branch", err)
	}
	return out, total, nil
}

// SiblingIDs answers, for each message, the ids under the same parent,
// oldest first, in one query over the parents involved.
func (r *MessageRepo) SiblingIDs(ctx context.Context, sessionID string, of []*domain.ChatMessage) (map[string][]string, error) {
	out := make(map[string][]string, len(of))
	if len(of) == 0 || !isCanonicalID(sessionID) {
		return out, nil
	}
	var parents []string
	roots := false
	for _, m := range of {
		if p := m.ParentID(); p != nil {
			parents = append(parents, *p)
		} else {
			roots = true
		}
	}
	slices.Sort(parents)
	parents = slices.Compact(parents)
	// Children are found by parent (its index), roots by session: a filter
	// on session for both would make SQLite scan the whole session.
	var rows []messageRow
	sel := r.db.read.NewSelect().Model(&rows).Column("m.id", "m.parent_id").
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			if len(parents) > 0 {
				q = q.WhereOr("m.parent_id IN (?)", bun.List(parents))
			}
			if roots {
				q = q.WhereOr("m.parent_id IS NULL AND m.session_id = ?", sessionID)
			}
			return q
		}).OrderExpr("m.created_at ASC").OrderExpr("m.id ASC")
	if err := sel.Scan(ctx); err != nil {
		return nil, wrap("sibling ids", err)
	}
	byParent := map[string][]string{}
	for _, row := range rows {
		key := parentKey(row.ParentID)
		byParent[key] = append(byParent[key], row.ID)
	}
	for _, m := range of {
		out[m.ID()] = byParent[parentKey(m.ParentID())]
	}
	return out, nil
}

func parentKey(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// SwitchBranch moves the session's current message to the newest leaf
// under messageID, under the session's lock.
func (r *MessageRepo) SwitchBranch(ctx context.Context, sessionID, messageID string, now time.Time) (*domain.ChatSession, error) {
	if !isCanonicalID(sessionID) {
		return nil, domain.NotFound("session")
	}
	var out *domain.ChatSession
	err := r.db.inWriteTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := r.lockSession(ctx, tx, sessionID); err != nil {
			return err
		}
		if err := checkInSession(ctx, tx, messageID, sessionID, "current_message_id"); err != nil {
			return err
		}
		leaf, err := newestLeaf(ctx, tx, &messageID, sessionID)
		if err != nil {
			return err
		}
		if err := setCurrent(ctx, tx, sessionID, leaf, now); err != nil {
			return err
		}
		out, err = loadSession(ctx, tx, sessionID)
		return err
	})
	if err != nil {
		return nil, wrap("switch branch", err)
	}
	return out, nil
}

// DeleteSubtree removes the message and everything under it and moves a
// current branch that ran through it to the newest leaf under its parent.
func (r *MessageRepo) DeleteSubtree(ctx context.Context, messageID string, now time.Time) (ports.DeletedSubtree, error) {
	if !isCanonicalID(messageID) {
		return ports.DeletedSubtree{}, domain.NotFound("message")
	}
	var out ports.DeletedSubtree
	err := r.db.inWriteTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var target messageRow
		err := tx.NewSelect().Model(&target).Column("m.id", "m.session_id", "m.parent_id").
			Where("m.id = ?", messageID).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return domain.NotFound("message")
		}
		if err != nil {
			return err
		}
		if err := r.lockSession(ctx, tx, target.SessionID); err != nil {
			return err
		}
		var ids []string
		if err := tx.NewRaw(subtreeDown, messageID, maxTreeDepth).Scan(ctx, &ids); err != nil {
			return err
		}
		for chunk := range slices.Chunk(ids, 500) {
			if _, err := tx.NewDelete().Model((*messageRow)(nil)).Where("m.id IN (?)", bun.List(chunk)).Exec(ctx); err != nil {
				return err
			}
		}
		var session sessionRow
		if err := tx.NewSelect().Model(&session).Column("s.current_message_id").Where("s.id = ?", target.SessionID).
			Scan(ctx); err != nil {
			return err
		}
		current := session.CurrentMessageID
		if current != nil && slices.Contains(ids, *current) {
			if current, err = newestLeaf(ctx, tx, target.ParentID, target.SessionID); err != nil {
				return err
			}
		}
		if _, err := tx.NewUpdate().Model((*sessionRow)(nil)).
			Set("message_count = CASE WHEN message_count > ? THEN message_count - ? ELSE 0 END", len(ids), len(ids)).
			Set("current_message_id = ?", current).
			Set("updated_at = ?", dbTime(now)).
			Where("s.id = ?", target.SessionID).Exec(ctx); err != nil {
			return err
		}
		out.IDs = ids
		out.Session, err = loadSession(ctx, tx, target.SessionID)
		return err
	})
	if err != nil {
		return ports.DeletedSubtree{}, wrap("delete messages", err)
	}
	return out, nil
}

// lockSession takes the session's row lock, the one every tree write holds.
func (r *MessageRepo) lockSession(ctx context.Context, tx bun.Tx, sessionID string) error {
	var id string
	err := r.db.forUpdate(tx.NewSelect().Model((*sessionRow)(nil)).Column("s.id").Where("s.id = ?", sessionID)).
		Scan(ctx, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.NotFound("session")
	}
	return err
}

// checkInSession refuses an id that is not a message of the session, as
// the named field's fault.
func checkInSession(ctx context.Context, tx bun.Tx, messageID, sessionID, field string) error {
	if !isCanonicalID(messageID) {
		return domain.ForeignParent(field)
	}
	n, err := tx.NewSelect().Model((*messageRow)(nil)).Where("m.id = ?", messageID).
		Where("m.session_id = ?", sessionID).Count(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		return domain.ForeignParent(field)
	}
	return nil
}

// newestLeaf follows the newest child from under down to a leaf; under nil
// starts from the session's newest first message. nil when there is none.
func newestLeaf(ctx context.Context, tx bun.Tx, under *string, sessionID string) (*string, error) {
	start := under
	if start == nil {
		var roots []string
		err := tx.NewSelect().Model((*messageRow)(nil)).Column("m.id").Where("m.session_id = ?", sessionID).
			Where("m.parent_id IS NULL").OrderExpr("m.created_at DESC").OrderExpr("m.id DESC").Limit(1).
			Scan(ctx, &roots)
		if err != nil || len(roots) == 0 {
			return nil, err
		}
		start = &roots[0]
	}
	var leaf []string
	if err := tx.NewRaw(newestLeafDown, *start, maxTreeDepth).Scan(ctx, &leaf); err != nil {
		return nil, err
	}
	if len(leaf) == 0 {
		return nil, nil
	}
	return &leaf[0], nil
}

func setCurrent(ctx context.Context, tx bun.Tx, sessionID string, current *string, now time.Time) error {
	_, err := tx.NewUpdate().Model((*sessionRow)(nil)).Set("current_message_id = ?", current).
		Set("updated_at = CASE WHEN updated_at < ? THEN ? ELSE updated_at END", dbTime(now), dbTime(now)).
		Where("s.id = ?", sessionID).Exec(ctx)
	return err
}

func loadSession(ctx context.Context, tx bun.Tx, sessionID string) (*domain.ChatSession, error) {
	var row sessionRow
	if err := tx.NewSelect().Model(&row).Where("s.id = ?", sessionID).Scan(ctx); err != nil {
		return nil, err
	}
	return sessionToDomain(row)
}
