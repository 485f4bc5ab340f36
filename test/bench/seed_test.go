package bench

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
)

// What the seeding benchmarks share: bulk inserts that no repository offers.

// seedMessage is a chat_messages row as the seeder writes it; columns it
// leaves out take their defaults.
type seedMessage struct {
	bun.BaseModel `bun:"table:chat_messages"`

	ID              string    `bun:"id"`
	SessionID       string    `bun:"session_id"`
	UserID          string    `bun:"user_id"`
	ParentID        *string   `bun:"parent_id"`
	Role            string    `bun:"role"`
	Content         string    `bun:"content"`
	LLMProvider     string    `bun:"llm_provider"`
	LLMModel        string    `bun:"llm_model"`
	TokensUsed      *int      `bun:"tokens_used"`
	Status          string    `bun:"status"`
	MessageMetadata string    `bun:"message_metadata"`
	CreatedAt       time.Time `bun:"created_at"`
	UpdatedAt       time.Time `bun:"updated_at"`
}

// openSeeder opens a plain bun handle for bulk inserts, which no
// repository offers.
func openSeeder(b *testing.B, dbURL string) *bun.DB {
	b.Helper()
	var raw *bun.DB
	if path, ok := strings.CutPrefix(dbURL, "sqlite://"); ok {
		sqldb, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_txlock=immediate")
		if err != nil {
			b.Fatal(err)
		}
		sqldb.SetMaxOpenConns(1)
		raw = bun.NewDB(sqldb, sqlitedialect.New())
	} else {
		sqldb, err := sql.Open("postgres", dbURL)
		if err != nil {
			b.Fatal(err)
		}
		raw = bun.NewDB(sqldb, pgdialect.New())
	}
	b.Cleanup(func() { _ = raw.Close() })
	return raw
}
