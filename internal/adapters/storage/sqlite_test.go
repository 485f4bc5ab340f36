package storage

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/domain"
)

func openTestSQLite(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), Config{URL: "sqlite://" + filepath.Join(t.TempDir(), "chat.db")}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// The pragmas the design relies on are in force on each handle.
func TestSQLitePragmas(t *testing.T) {
	db := openTestSQLite(t)
	ctx := context.Background()
	for _, c := range []struct {
		handle        string
		pragma, value string
	}{
		{"write", "journal_mode", "wal"},
		{"write", "foreign_keys", "1"},
		{"write", "busy_timeout", "5000"},
		{"write", "synchronous", "2"}, // FULL unless asked otherwise
		{"read", "foreign_keys", "1"},
		{"read", "busy_timeout", "5000"},
		{"read", "query_only", "1"},
	} {
		h := db.write
		if c.handle == "read" {
			h = db.read
		}
		var got string
		if err := h.NewRaw("PRAGMA "+c.pragma).Scan(ctx, &got); err != nil {
			t.Fatal(err)
		}
		if !strings.EqualFold(got, c.value) {
			t.Errorf("%s handle: PRAGMA %s = %s, want %s", c.handle, c.pragma, got, c.value)
		}
	}
	if n := db.write.DB.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("write pool allows %d connections, want 1", n)
	}
}

// CHAT_SQLITE_SYNCHRONOUS=normal reaches the writer; nonsense is refused.
func TestSQLiteSynchronous(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, Config{URL: "sqlite://" + filepath.Join(t.TempDir(), "chat.db"), SQLiteSynchronous: "normal"}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	var got int
	if err := db.write.NewRaw("PRAGMA synchronous").Scan(ctx, &got); err != nil {
		t.Fatal(err)
	}
	if got != 1 {
		t.Fatalf("PRAGMA synchronous = %d, want 1 (NORMAL)", got)
	}
	if _, err := Open(ctx, Config{URL: "sqlite://" + filepath.Join(t.TempDir(), "x.db"), SQLiteSynchronous: "off"}, zap.NewNop()); err == nil {
		t.Fatal("synchronous off was accepted")
	}
}

// A full disk makes writes storage-unavailable (503) while reads go on.
func TestSQLiteDiskFull(t *testing.T) {
	db := openTestSQLite(t)
	ctx := context.Background()
	users := NewUserRepo(db)
	u, err := domain.NewUser("0b5a3c1e-7d2f-4a8b-9c6d-1e2f3a4b5c6d", "a@example.com", "A", "h", domain.UserRoleUser, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := users.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	// The write pool's single connection keeps this limit: the file may not grow.
	var pages int
	if err := db.write.NewRaw("PRAGMA page_count").Scan(ctx, &pages); err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.ExecContext(ctx, "PRAGMA max_page_count = ?", pages); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 64<<10)
	var writeErr error
	for i := 0; i < 64 && writeErr == nil; i++ {
		v, err := domain.NewUser(fmt.Sprintf("00000000-0000-4000-8000-%012d", i), "u"+strings.Repeat("x", i)+"@example.com", "B", big, domain.UserRoleUser, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		writeErr = users.Create(ctx, v)
	}
	if !domain.IsKind(writeErr, domain.ErrUnavailable) {
		t.Fatalf("write on a full disk: want storage-unavailable, got %v", writeErr)
	}
	if _, err := users.GetByID(ctx, u.ID()); err != nil {
		t.Fatalf("read on a full disk: %v", err)
	}
}
