package storage_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/adapters/storage"
	"github.com/chatd/chatd/internal/adapters/storage/storagetest"
)

func TestContractSQLite(t *testing.T) {
	storagetest.Run(t, storagetest.NewSQLite)
}

func TestContractPostgres(t *testing.T) {
	storagetest.PostgresServerURL(t)
	storagetest.Run(t, storagetest.NewPostgres)
}

func TestMigrationsUpDownUpSQLite(t *testing.T) {
	testMigrationsUpDownUp(t, storagetest.SQLiteURL(t))
}

func TestMigrationsUpDownUpPostgres(t *testing.T) {
	testMigrationsUpDownUp(t, storagetest.FreshPostgresURL(t))
}

// testMigrationsUpDownUp applies, reverts and re-applies the schema, so the
// down files really undo the up files and nothing is left behind.
func testMigrationsUpDownUp(t *testing.T, url string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := storage.Open(ctx, storage.Config{URL: url}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()

	status := func(want bool) {
		t.Helper()
		states, err := db.MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(states) == 0 {
			t.Fatal("no migrations found")
		}
		for _, s := range states {
			if s.Applied != want {
				t.Fatalf("%s: applied = %v, want %v", s, s.Applied, want)
			}
		}
	}
	ping := func() {
		t.Helper()
		if err := db.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	}

	status(false)
	up, err := db.Migrate(ctx)
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	if len(up) == 0 {
		t.Fatal("up applied nothing")
	}
	status(true)
	ping()
	if again, err := db.Migrate(ctx); err != nil || len(again) != 0 {
		t.Fatalf("second up = %v, %v; want nothing to do", again, err)
	}

	down, err := db.Rollback(ctx)
	if err != nil {
		t.Fatalf("down: %v", err)
	}
	if len(down) != len(up) {
		t.Fatalf("down reverted %v, want %v", down, up)
	}
	status(false)
	// The repositories' tables are gone.
	if _, err := storage.NewUserRepo(db).GetByEmail(ctx, "a@example.com"); err == nil {
		t.Fatal("users table still there after down")
	}

	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	status(true)
	if _, err := storage.NewUserRepo(db).GetByEmail(ctx, "a@example.com"); err == nil || !strings.Contains(err.Error(), "not-found") {
		t.Fatalf("after up again: want not found, got %v", err)
	}
}

func TestOpenRejectsUnknownURLs(t *testing.T) {
	for _, url := range []string{"", "mysql://root:secret@localhost/chat", "chat.db", "sqlite://", "sqlite://./x.db?mode=ro", "sqlite://:memory:"} {
		db, err := storage.Open(context.Background(), storage.Config{URL: url}, zap.NewNop())
		if err == nil {
			_ = db.Close()
			t.Fatalf("Open(%q) succeeded", url)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Fatalf("error leaks the password: %v", err)
		}
	}
}

func TestOpenSQLiteCreatesFolder(t *testing.T) {
	dir := t.TempDir()
	db, err := storage.Open(context.Background(), storage.Config{URL: "sqlite://" + dir + "/a/b/chat.db"}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if db.Dialect() != storage.DialectSQLite {
		t.Fatalf("dialect = %q", db.Dialect())
	}
	if err := db.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}
