package storage

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
)

// preparedRead is a read the server runs so often that parsing it each time
// shows: bun writes its arguments into the query text, so every bun query is
// a new statement to the database, and on SQLite parsing a small query costs
// as much as running it. A preparedRead keeps placeholders and lets
// database/sql prepare it once per connection.
type preparedRead struct {
	query string // with ? placeholders, rewritten to $n on PostgreSQL
	table string // its main table, for its trace span

	mu   sync.Mutex
	stmt *sql.Stmt
}

// queryRow runs the query and scans its first row into dest with bun's
// column mapping; it returns sql.ErrNoRows when there is none.
func (p *preparedRead) queryRow(ctx context.Context, db *DB, dest any, args ...any) error {
	return p.run(ctx, db, args, func(rows *sql.Rows) error {
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return err
			}
			return sql.ErrNoRows
		}
		return db.read.ScanRow(ctx, rows, dest)
	})
}

// queryRows runs the query and scans every row into dest, a slice, with
// bun's column mapping.
func (p *preparedRead) queryRows(ctx context.Context, db *DB, dest any, args ...any) error {
	return p.run(ctx, db, args, func(rows *sql.Rows) error { return db.read.ScanRows(ctx, rows, dest) })
}

// run runs the statement, traced, and hands its rows to scan.
func (p *preparedRead) run(ctx context.Context, db *DB, args []any, scan func(*sql.Rows) error) (err error) {
	end := db.tracePrepared(ctx, "SELECT", p.table)
	defer func() { end(err) }()
	stmt, err := p.prepared(ctx, db) //nolint:sqlclosecheck // kept for the life of the process, prepared once
	if err != nil {
		return err
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close() // bun's ScanRows closes them too; closing twice is harmless
	if err := scan(rows); err != nil {
		return err
	}
	return rows.Err()
}

// prepared prepares the statement on first use; a failed prepare (the
// database away) is tried again by the next call.
func (p *preparedRead) prepared(ctx context.Context, db *DB) (*sql.Stmt, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stmt != nil {
		return p.stmt, nil
	}
	query := p.query
	if db.isPostgres() {
		query = numberedPlaceholders(query)
	}
	stmt, err := db.read.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	p.stmt = stmt
	return stmt, nil
}

// numberedPlaceholders turns each ? into $1, $2, ... (the queries given to
// preparedRead hold no literal question marks).
func numberedPlaceholders(query string) string {
	var b strings.Builder
	n := 0
	for _, part := range strings.SplitAfter(query, "?") {
		if before, ok := strings.CutSuffix(part, "?"); ok {
			n++
			b.WriteString(before + "$" + strconv.Itoa(n))
			continue
		}
		b.WriteString(part)
	}
	return b.String()
}
