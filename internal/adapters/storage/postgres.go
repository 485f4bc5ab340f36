package storage

import (
	"database/sql"
	"fmt"
	"net/url"
	"time"

	"github.com/lib/pq"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"go.uber.org/zap"
)

// Pool bounds for PostgreSQL: enough for one process's requests and
// generations, well under the server's default max_connections (100) so that
// several chatd processes fit. Every open connection may stay idle: under
// load, a pool that closes what it cannot keep opens a new connection (a new
// server process) for nearly every query; the idle time still closes them
// once the load is gone.
const (
	pgMaxOpenConns    = 20
	pgMaxIdleConns    = pgMaxOpenConns
	pgConnMaxIdleTime = 5 * time.Minute
	pgConnMaxLifetime = 30 * time.Minute
)

func openPostgres(rawURL string, log *zap.Logger) (*DB, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url's error repeats the URL, password included: say less.
		return nil, fmt.Errorf("open postgres: the database URL is not a valid URL")
	}
	// Validate the DSN now so a typo fails at start, not at the first request.
	if _, err := pq.NewConnector(rawURL); err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", u.Redacted(), err)
	}
	sqldb := sql.OpenDB(deadlineConnector{dsn: rawURL})
	sqldb.SetMaxOpenConns(pgMaxOpenConns)
	sqldb.SetMaxIdleConns(pgMaxIdleConns)
	sqldb.SetConnMaxIdleTime(pgConnMaxIdleTime)
	sqldb.SetConnMaxLifetime(pgConnMaxLifetime)
	db := bun.NewDB(sqldb, pgdialect.New())

	log.Info("storage opened", zap.String("dialect", DialectPostgres), zap.String("url", u.Redacted()))
	return &DB{dialect: DialectPostgres, write: db, read: db, log: log}, nil
}
