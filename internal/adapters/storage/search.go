package storage

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"
	"unicode/utf8"

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
	var query, count string
	var args, countArgs []any
	if r.db.isPostgres() {
		// message_search holds a row per message and participant, indexed
		// from the user: only the caller's matches are read, ranked and
		// counted, and only the page's messages are read whole.
		//
		// A short prefix makes the text index merge the lists of every word
		// that starts with it, all users' alike ('the' cost 58 ms at
		// 1,000,000 messages), so when the query has other terms the index
		// looks for those and the short prefix is checked on the rows found
		// (ts_match_vq is @@ without the index). A longer prefix names few
		// words and stays in the index, where it is often the rarest term.
		tsq := tsquery(q.Terms())
		indexed := tsq
		if selective := indexableTerms(q.Terms()); len(selective) > 0 {
			indexed = tsquery(selective)
		}
		hits := `FROM message_search e WHERE e.user_id = ? AND e.search_vector @@ to_tsquery('simple', ?)
			AND ts_match_vq(e.search_vector, to_tsquery('simple', ?))`
		args = append(args, tsq, userID, indexed, tsq)
		if sessionID != nil {
			hits += ` AND e.session_id = ?`
			args = append(args, *sessionID)
		}
		countArgs = args[1:]
		// The rank is taken in an inner step (OFFSET 0 keeps the planner from
		// merging it), so the count's window holds narrow rows, not every
		// match's words.
		query = `SELECT ` + messageColumns + `, s.title AS session_title, e.total_count
			FROM (SELECT e.*, COUNT(*) OVER () AS total_count FROM (
				SELECT e.message_id, e.created_at, ts_rank(e.search_vector, to_tsquery('simple', ?), 1) AS rank
				` + hits + ` OFFSET 0) e
				ORDER BY e.rank DESC, e.created_at DESC, e.message_id DESC %s) e
			JOIN chat_messages m ON m.id = e.message_id
			JOIN chat_sessions s ON s.id = m.session_id
			ORDER BY e.rank DESC, e.created_at DESC, e.message_id DESC`
		count = `SELECT COUNT(*) ` + hits
	} else {
		hits := `SELECT i.message_id, bm25(chat_messages_fts) AS score
			FROM chat_messages_fts JOIN chat_messages_fts_ids i ON i.fts_rowid = chat_messages_fts.rowid
			WHERE chat_messages_fts MATCH ?`
		from := `FROM hits h
			JOIN chat_messages m ON m.id = h.message_id
			JOIN session_participants p ON p.session_id = m.session_id AND p.user_id = ?
			JOIN chat_sessions s ON s.id = m.session_id`
		args = append(args, fts5Query(q), userID)
		if sessionID != nil {
			from += ` WHERE m.session_id = ?`
			args = append(args, *sessionID)
		}
		query = `WITH hits AS (` + hits + `) SELECT ` + messageColumns + `, s.title AS session_title,
			COUNT(*) OVER () AS total_count ` + from + `
			ORDER BY h.score, m.created_at DESC, m.id DESC`
		count = `WITH hits AS (` + hits + `) SELECT COUNT(*) ` + from
		countArgs = args
	}
	pageArgs := args
	page := ""
	if p.Size > 0 {
		page = `LIMIT ? OFFSET ?`
		pageArgs = append(append([]any{}, args...), p.Size, p.Offset())
	}
	if r.db.isPostgres() {
		query = fmt.Sprintf(query, page) // the page is cut before messages are read
	} else {
		query += " " + page
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
		if err := r.db.read.NewRaw(count, countArgs...).Scan(ctx, &total); err != nil {
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

// tsquery writes terms in to_tsquery's syntax: each word a quoted lexeme,
// the words of a phrase joined by <->, a prefix marked :*, the terms joined
// by &. Quotes and backslashes are escaped all the same.
func tsquery(terms []domain.SearchTerm) string {
	escape := strings.NewReplacer(`'`, `''`, `\`, `\\`)
	var b strings.Builder
	for i, t := range terms {
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

// shortPrefixRunes is the length up to which a prefix is checked on the
// rows found rather than looked up in the index.
const shortPrefixRunes = 3

// indexableTerms are the terms worth an index lookup: all but short prefixes.
func indexableTerms(terms []domain.SearchTerm) []domain.SearchTerm {
	var out []domain.SearchTerm
	for _, t := range terms {
		if !t.Prefix || utf8.RuneCountInString(t.Words[len(t.Words)-1]) > shortPrefixRunes {
			out = append(out, t)
		}
	}
	return out
}
