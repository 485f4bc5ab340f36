package storage

import (
	"context"
	"database/sql/driver"
	"strings"

	"modernc.org/sqlite"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

var _ ports.MessageSearch = (*MessageSearch)(nil)

// sqliteSearchDocument is the SQL function the SQLite search index's
// triggers call (see migrations/sqlite/20261203000002_search.up.sql).
const sqliteSearchDocument = "chatd_search_document"

// The function is registered with the driver, not per connection, so that
// every connection has it, the migrator's included, before anything writes a
// message. It is the package's only init: a driver registration, like the
// driver's own import.
func init() {
	sqlite.MustRegisterDeterministicScalarFunction(sqliteSearchDocument, 1, searchDocumentSQL)
}

// searchDocumentSQL never fails: a failure here would refuse the message
// write that fired the trigger.
func searchDocumentSQL(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	switch v := args[0].(type) {
	case string:
		return domain.SearchDocument(v), nil
	case []byte:
		return domain.SearchDocument(string(v)), nil
	}
	return "", nil
}

// MessageSearch finds messages with PostgreSQL's text search or SQLite's FTS5;
// both index the same words (see domain/search.go), so they find the same
// messages. Each ranks by its own measure (ts_rank, bm25), then newest first.
type MessageSearch struct{ db *DB }

// NewMessageSearch returns the search over db.
func NewMessageSearch(db *DB) *MessageSearch { return &MessageSearch{db: db} }

// searchRow is a message found, with its session's title and how many were found.
type searchRow struct {
	messageRow   `bun:",extend"`
	SessionTitle string `bun:"session_title"`
	Total        int    `bun:"total_count"`
}

// Search implements ports.MessageSearch. Access is part of the query: a
// message is found only through a participant row of the caller, so a
// removed participant, a deleted session or a deleted message stops
// matching with the transaction that removed it.
func (r *MessageSearch) Search(ctx context.Context, userID string, q domain.SearchQuery, sessionID *string, p ports.Page) ([]ports.SearchHit, int, error) {
	if q.IsEmpty() || !isCanonicalID(userID) || (sessionID != nil && !isCanonicalID(*sessionID)) {
		return []ports.SearchHit{}, 0, nil
	}
	// hits: the matching messages and their scores (lower is better).
	var hits string
	var args []any
	if r.db.isPostgres() {
		hits = `SELECT m.id AS message_id, -ts_rank(m.search_vector, to_tsquery('simple', ?), 1) AS score
			FROM chat_messages m WHERE m.search_vector @@ to_tsquery('simple', ?)`
		tsq := tsquery(q)
		args = append(args, tsq, tsq)
	} else {
		hits = `SELECT i.message_id, bm25(chat_messages_fts) AS score
			FROM chat_messages_fts JOIN chat_messages_fts_ids i ON i.fts_rowid = chat_messages_fts.rowid
			WHERE chat_messages_fts MATCH ?`
		args = append(args, fts5Query(q))
	}
	from := `FROM hits h
		JOIN chat_messages m ON m.id = h.message_id
		JOIN session_participants p ON p.session_id = m.session_id AND p.user_id = ?
		JOIN chat_sessions s ON s.id = m.session_id`
	args = append(args, userID)
	if sessionID != nil {
		from += ` WHERE m.session_id = ?`
		args = append(args, *sessionID)
	}
	query := `WITH hits AS (` + hits + `) SELECT ` + messageColumns + `, s.title AS session_title,
		COUNT(*) OVER () AS total_count ` + from + `
		ORDER BY h.score, m.created_at DESC, m.id DESC`
	pageArgs := args
	if p.Size > 0 {
		query += ` LIMIT ? OFFSET ?`
		pageArgs = append(append([]any{}, args...), p.Size, p.Offset())
	}
	var rows []searchRow
	if err := r.db.read.NewRaw(query, pageArgs...).Scan(ctx, &rows); err != nil {
		return nil, 0, wrap("search messages", err)
	}
	total := 0
	out := make([]ports.SearchHit, 0, len(rows))
	for _, row := range rows {
		m, err := messageToDomain(row.messageRow)
		if err != nil {
			return nil, 0, wrap("search messages", err)
		}
		out = append(out, ports.SearchHit{Message: m, SessionTitle: row.SessionTitle})
		total = row.Total
	}
	if len(rows) == 0 && p.Offset() > 0 {
		// A page past the end holds no row to carry the count.
		count := `WITH hits AS (` + hits + `) SELECT COUNT(*) ` + from
		if err := r.db.read.NewRaw(count, args...).Scan(ctx, &total); err != nil {
			return nil, 0, wrap("search messages", err)
		}
	}
	return out, total, nil
}

// fts5Query writes q in FTS5's query syntax: each term a quoted string
// (a phrase when it has several words), a prefix term followed by *, all of
// them required. Words hold letters and digits only; quotes are doubled all
// the same, so nothing a user typed can ever read as syntax.
func fts5Query(q domain.SearchQuery) string {
	var b strings.Builder
	for i, t := range q.Terms() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(strings.Join(t.Words, " "), `"`, `""`))
		b.WriteByte('"')
		if t.Prefix {
			b.WriteByte('*')
		}
	}
	return b.String()
}

// tsquery writes q in to_tsquery's syntax: each word a quoted lexeme, the
// words of a phrase joined by <->, a prefix marked :*, the terms joined by &.
// Quotes and backslashes are escaped all the same.
func tsquery(q domain.SearchQuery) string {
	escape := strings.NewReplacer(`'`, `''`, `\`, `\\`)
	var b strings.Builder
	for i, t := range q.Terms() {
		if i > 0 {
			b.WriteString(" & ")
		}
		b.WriteByte('(')
		for j, w := range t.Words {
			if j > 0 {
				b.WriteString(" <-> ")
			}
			b.WriteByte('\'')
			b.WriteString(escape.Replace(w))
			b.WriteByte('\'')
		}
		if t.Prefix {
			b.WriteString(":*")
		}
		b.WriteByte(')')
	}
	return b.String()
}
