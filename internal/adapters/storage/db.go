// Package storage implements chatd's repositories with bun, on PostgreSQL
// (lib/pq) or SQLite (modernc.org/sqlite, no cgo). Both dialects run the same
// code and the same contract suite (storagetest); only opening, schema files
// and a few clauses differ.
package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/domain"
)

// Dialect names.
const (
	DialectPostgres = "postgres"
	DialectSQLite   = "sqlite"
)

// Config says which database to use.
type Config struct {
	// URL is sqlite://PATH (sqlite:///abs/path or sqlite://./rel/path) or
	// postgres://... / postgresql://... in lib/pq's URL form.
	URL string
	// AutoMigrate applies pending migrations when the fx app starts.
	AutoMigrate bool
	// SQLiteSynchronous is SQLite's synchronous pragma for the writer:
	// "full" (the default: fsync every commit) or "normal" (in WAL mode, a
	// commit survives the process crashing but may be lost if the machine
	// does; fsync only at checkpoints).
	SQLiteSynchronous string
	// TraceQueries makes every query a span under the caller's span (see
	// tracing.go). Off, no hook is installed and queries cost what they did.
	TraceQueries bool
}

// DB holds the database handles. On PostgreSQL read and write are one pool.
// On SQLite they are two pools on the same file: write has a single
// connection, so writers queue in Go (honouring their contexts) instead of
// failing with "database is locked", and read has several, which WAL lets
// run beside the writer.
type DB struct {
	dialect string
	write   *bun.DB
	read    *bun.DB
	log     *zap.Logger
	// group, on SQLite, commits write transactions in groups.
	group *groupCommit
}

// Open connects according to cfg. It does not wait for a PostgreSQL server;
// the first query does. A SQLite file (and its folder) is created if missing.
func Open(ctx context.Context, cfg Config, log *zap.Logger) (*DB, error) {
	if log == nil {
		log = zap.NewNop()
	}
	log = log.Named("storage")
	db, err := openDialect(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if cfg.TraceQueries {
		db.traceQueries()
	}
	return db, nil
}

func openDialect(ctx context.Context, cfg Config, log *zap.Logger) (*DB, error) {
	switch {
	case strings.HasPrefix(cfg.URL, "sqlite://"):
		return openSQLite(ctx, strings.TrimPrefix(cfg.URL, "sqlite://"), cfg.SQLiteSynchronous, log)
	case strings.HasPrefix(cfg.URL, "postgres://"), strings.HasPrefix(cfg.URL, "postgresql://"):
		return openPostgres(cfg.URL, log)
	case cfg.URL == "":
		return nil, errors.New("open storage: database URL is empty; want sqlite://PATH or postgres://USER@HOST/DB")
	}
	// The URL may hold a password: name only its scheme.
	scheme, _, _ := strings.Cut(cfg.URL, ":")
	return nil, fmt.Errorf("open storage: unsupported database URL scheme %q; want sqlite://PATH or postgres://USER@HOST/DB", scheme)
}

// Dialect returns DialectPostgres or DialectSQLite.
func (db *DB) Dialect() string { return db.dialect }

func (db *DB) isPostgres() bool { return db.dialect == DialectPostgres }

// Ping checks that the database answers a query; it implements ports.HealthChecker.
// On SQLite it asks the read pool, which answers even while a long write
// holds the single write connection.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.read.NewRaw("SELECT 1").Scan(ctx, &one); err != nil {
		return wrap("ping", err)
	}
	return nil
}

// Close closes every handle.
func (db *DB) Close() error {
	if db.group != nil {
		db.group.stop()
	}
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	if err != nil {
		return fmt.Errorf("close storage: %w", err)
	}
	return nil
}

// inWriteTx runs fn in a write transaction. On SQLite it begins IMMEDIATE
// (the write DSN says so), taking the write lock up front so that a read
// inside the transaction can never turn into a lock upgrade that fails.
// fn must use tx only: on SQLite the write pool has one connection, which tx holds.
// On SQLite fn may share its commit with other writers (see groupCommit):
// it must be a function of the database alone, with nothing outside it
// that assumes the transaction is its own.
func (db *DB) inWriteTx(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	if db.group != nil {
		return db.group.run(ctx, fn)
	}
	return db.write.RunInTx(ctx, nil, fn)
}

// inWrite runs a write that needs no transaction of its own (a single
// statement): on SQLite it still shares a group's commit, elsewhere it runs
// on the write pool as it is.
func (db *DB) inWrite(ctx context.Context, fn func(ctx context.Context, w bun.IDB) error) error {
	if db.group != nil {
		return db.group.run(ctx, func(ctx context.Context, tx bun.Tx) error { return fn(ctx, tx) })
	}
	return fn(ctx, db.write)
}

// forUpdate locks the selected row on PostgreSQL until the transaction
// ends; SQLite has no row locks and needs none, since its write transaction
// already excludes other writers. NO KEY UPDATE is enough because ids never
// change, and unlike FOR UPDATE it lets other transactions insert rows that
// reference this one (their foreign-key check takes KEY SHARE).
func (db *DB) forUpdate(q *bun.SelectQuery) *bun.SelectQuery {
	if db.isPostgres() {
		return q.For("NO KEY UPDATE")
	}
	return q
}

// isCanonicalID guards lookups by id: PostgreSQL rejects a string that is not
// a UUID where SQLite simply finds nothing, so both answer NotFound before asking.
func isCanonicalID(id string) bool {
	_, ok := domain.ParseID(id)
	return ok
}
