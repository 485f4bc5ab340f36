package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"go.uber.org/zap"

	// Registers the pure-Go "sqlite" driver.
	_ "modernc.org/sqlite"
)

// sqliteReadConns bounds the read pool. WAL lets readers run beside the one
// writer; a few are enough for one process on a small machine.
const sqliteReadConns = 4

// Every connection waits up to 5 s for a lock (the migrator or another
// process may hold one) and enforces foreign keys, which SQLite leaves off
// by default. busy_timeout comes first so that the WAL switch can wait too.
const sqliteCommonPragmas = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)"

// The write connection switches the file to WAL (persistent, so readers need
// not) and begins transactions IMMEDIATE: a transaction that reads then
// writes holds the write lock from its start instead of failing to upgrade.
// Its temporary files live in memory: a group commit (groupCommit) gives
// every member a savepoint, and a savepoint's sub-journal written to a file
// cost more than the inserts themselves.
const sqliteWriteParams = sqliteCommonPragmas + "&_pragma=journal_mode(WAL)&_pragma=temp_store(memory)&_txlock=immediate"

// Read connections refuse writes, so a write sent to the wrong pool fails
// loudly in tests rather than racing the writer.
const sqliteReadParams = sqliteCommonPragmas + "&_query_only=1"

func openSQLite(ctx context.Context, path, synchronous string, log *zap.Logger) (*DB, error) {
	switch synchronous {
	case "":
		synchronous = "full"
	case "full", "normal":
	default:
		return nil, fmt.Errorf("open sqlite: synchronous %q: want full or normal", synchronous)
	}
	if path == "" {
		return nil, errors.New("open sqlite: sqlite:// URL has no path; use sqlite://./data/chat.db or sqlite:///abs/chat.db")
	}
	if strings.HasPrefix(path, ":memory:") || strings.HasPrefix(path, "file:") {
		// Each pool would get its own private database: reads would never see writes.
		return nil, fmt.Errorf("open sqlite: %q is not supported; give a file path", path)
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open sqlite: path %q must not contain '?' or '#'", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open sqlite: create folder: %w", err)
		}
	}

	writeSQL, err := sql.Open("sqlite", path+"?"+sqliteWriteParams+"&_pragma=synchronous("+synchronous+")")
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	// One connection, kept for the life of the process: the queue for it is
	// what serializes writers.
	writeSQL.SetMaxOpenConns(1)
	writeSQL.SetMaxIdleConns(1)
	writeSQL.SetConnMaxLifetime(0)
	writeSQL.SetConnMaxIdleTime(0)
	write := bun.NewDB(writeSQL, sqlitedialect.New())

	// Open the write connection before any reader so the file is in WAL mode
	// from the start; a local file answers at once, so this does not block.
	var mode string
	if err := write.NewRaw("PRAGMA journal_mode").Scan(ctx, &mode); err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		log.Warn("sqlite is not in WAL mode; readers will wait for writers", zap.String("journal_mode", mode))
	}

	readSQL, err := sql.Open("sqlite", path+"?"+sqliteReadParams)
	if err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	readSQL.SetMaxOpenConns(sqliteReadConns)
	readSQL.SetMaxIdleConns(sqliteReadConns)
	read := bun.NewDB(readSQL, sqlitedialect.New())

	log.Info("storage opened", zap.String("dialect", DialectSQLite), zap.String("path", path))
	return &DB{dialect: DialectSQLite, write: write, read: read, log: log, group: newGroupCommit(write)}, nil
}
