// Package storagetest holds the contract suite every storage implementation
// must pass, and helpers that give tests a fresh, migrated database of
// either dialect.
package storagetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/adapters/storage"

	// Registers the "postgres" driver used to create and drop test databases.
	_ "github.com/lib/pq"
)

// Environment variables that select the PostgreSQL leg.
const (
	EnvPostgresURL     = "CHAT_TEST_POSTGRES_URL"
	EnvRequirePostgres = "CHAT_TEST_REQUIRE_POSTGRES"
)

const setupTimeout = 30 * time.Second

// NewSQLite opens a migrated SQLite database in a fresh temporary folder,
// closed when the test ends.
func NewSQLite(t *testing.T) *storage.DB {
	t.Helper()
	return openMigrated(t, SQLiteURL(t))
}

// NewPostgres opens a migrated, freshly created PostgreSQL database (see
// FreshPostgresURL), closed and dropped when the test ends.
func NewPostgres(t *testing.T) *storage.DB {
	t.Helper()
	return openMigrated(t, FreshPostgresURL(t))
}

// SQLiteURL returns a sqlite:// URL for a file in a fresh temporary folder.
// Nothing is created until the URL is opened.
func SQLiteURL(t testing.TB) string {
	t.Helper()
	return "sqlite://" + filepath.Join(t.TempDir(), "chat.db")
}

// FreshPostgresURL creates an empty database chatd_test_<random> on the
// server named by CHAT_TEST_POSTGRES_URL, returns its URL and drops it when
// the test ends. Without the variable the test is skipped, unless
// CHAT_TEST_REQUIRE_POSTGRES=1 (CI), where a skip would hide a missing leg.
func FreshPostgresURL(t testing.TB) string {
	t.Helper()
	base := PostgresServerURL(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s is not a URL", EnvPostgresURL)
	}
	admin, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatalf("open %s: %v", u.Redacted(), err)
	}
	name := "chatd_test_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	// The name is ours (hex), so quoting is not needed.
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		_ = admin.Close()
		t.Fatalf("create test database on %s: %v", u.Redacted(), err)
	}
	t.Cleanup(func() {
		defer func() { _ = admin.Close() }()
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		// FORCE ends connections a test left open (PostgreSQL 13+).
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// PostgresServerURL returns CHAT_TEST_POSTGRES_URL, or skips the test when
// it is unset (fails it under CHAT_TEST_REQUIRE_POSTGRES=1). Call it at the
// top of a PostgreSQL test so that a skip shows there, not in every subtest.
func PostgresServerURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgresURL)
	if base == "" {
		if os.Getenv(EnvRequirePostgres) == "1" {
			t.Fatalf("%s is not set but %s=1", EnvPostgresURL, EnvRequirePostgres)
		}
		t.Skipf("%s is not set: skipping the PostgreSQL leg", EnvPostgresURL)
	}
	return base
}

func openMigrated(t *testing.T, dbURL string) *storage.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	db, err := storage.Open(ctx, storage.Config{URL: dbURL}, zap.NewNop())
	if err != nil {
		t.Fatalf("open storage: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close storage: %v", err)
		}
	})
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
