package storage_test

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/migrate"
	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/adapters/storage"
	"github.com/chatd/chatd/internal/adapters/storage/storagetest"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
	"github.com/chatd/chatd/migrations"
)

// Databases made before the conversation tree hold straight lines: each
// message's parent is the message before it, and sessions have no current
// message. Upgrading one must keep every value, make each session's newest
// message its current one, and leave a tree the new code reads and extends.

// initMigration is the schema the tree migration upgrades from.
const initMigration = "20261125000001"

func TestMigrateTreeFromLinearHistorySQLite(t *testing.T) {
	testMigrateTreeFromLinearHistory(t, storage.DialectSQLite, storagetest.SQLiteURL(t))
}

func TestMigrateTreeFromLinearHistoryPostgres(t *testing.T) {
	storagetest.PostgresServerURL(t)
	testMigrateTreeFromLinearHistory(t, storage.DialectPostgres, storagetest.FreshPostgresURL(t))
}

func testMigrateTreeFromLinearHistory(t *testing.T, dialect, url string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The database as the previous release left it: its schema, applied by
	// bun's migrator as chatd does, and rows written as its code wrote them.
	old := openRaw(t, dialect, url)
	applyInitOnly(ctx, t, old, dialect)
	h := seedLinearHistory(ctx, t, old)
	before := snapshotOldTables(ctx, t, old, nil)
	for table, want := range map[string]int{
		"users": 2, "chat_sessions": 3, "session_participants": 4, "chat_messages": len(h.chainA) + len(h.chainB),
		"refresh_tokens": 1, "idempotency_keys": 1,
	} {
		if got := len(before[table].rows); got != want {
			t.Fatalf("seeded %d rows in %s, want %d", got, table, want)
		}
	}
	oldColumns := map[string][]string{}
	for table, rows := range before {
		oldColumns[table] = rows.columns
	}

	db, err := storage.Open(ctx, storage.Config{URL: url}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	up, err := db.Migrate(ctx)
	if err != nil {
		t.Fatalf("migrate the old database: %v", err)
	}
	if !slices.Contains(up, "20261203000001_tree") || slices.ContainsFunc(up, isInit) {
		t.Fatalf("migrate applied %v, want the tree migration and not the init one again", up)
	}

	sameOldRows(t, "after the upgrade", snapshotOldTables(ctx, t, old, oldColumns), before)
	sessions, messages := storage.NewSessionRepo(db), storage.NewMessageRepo(db)
	h.checkTree(ctx, t, sessions, messages, h.chainA, h.chainB)

	// A new post follows the old newest message and becomes the current one.
	sA, err := sessions.Get(ctx, h.sessionA)
	if err != nil {
		t.Fatal(err)
	}
	posted, err := domain.NewPostedMessage(newV7ID(t), h.sessionA, h.owner, nil, domain.RoleUser, "after the upgrade",
		domain.DefaultMaxMessageChars, sA, h.at(100*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	postedID := posted.ID()
	reply, err := domain.NewReplyPlaceholder(newV7ID(t), h.sessionA, h.owner, &postedID, sA.Provider(), sA.Model(),
		h.at(100*time.Second+time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if err := messages.CreateTurn(ctx, ports.NewTurn{Message: posted, Reply: reply, Placement: domain.FollowCurrent()}); err != nil {
		t.Fatalf("post after the upgrade: %v", err)
	}
	stored, err := messages.Get(ctx, posted.ID())
	if err != nil {
		t.Fatal(err)
	}
	if p := stored.ParentID(); p == nil || *p != h.newestA() {
		t.Fatalf("the new post's parent = %v, want the old newest message %s", showID(p), h.newestA())
	}
	grown := append(slices.Clone(h.chainA), posted.ID(), reply.ID())
	h.checkTree(ctx, t, sessions, messages, grown, h.chainB)
	if sA, err = sessions.Get(ctx, h.sessionA); err != nil {
		t.Fatal(err)
	}
	if sA.MessageCount() != len(grown) {
		t.Fatalf("message count after the post = %d, want %d", sA.MessageCount(), len(grown))
	}
	afterPost := snapshotOldTables(ctx, t, old, oldColumns)

	// Down: back to the old schema with every old value, the new post included.
	down, err := db.Rollback(ctx)
	if err != nil {
		t.Fatalf("roll the upgrade back: %v", err)
	}
	if !sameNames(down, up) {
		t.Fatalf("rollback reverted %v, want %v", down, up)
	}
	states, err := db.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range states {
		if s.Applied != (s.Name == initMigration) {
			t.Fatalf("after the rollback %s; want only %s applied", s, initMigration)
		}
	}
	if _, err := old.ExecContext(ctx, "SELECT current_message_id FROM chat_sessions"); err == nil {
		t.Fatal("chat_sessions.current_message_id survived the rollback")
	}
	sameOldRows(t, "after the rollback", snapshotOldTables(ctx, t, old, oldColumns), afterPost)

	// And up again: the same migrations, the same rows, the same tree.
	again, err := db.Migrate(ctx)
	if err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	if !sameNames(again, up) {
		t.Fatalf("second upgrade applied %v, want %v", again, up)
	}
	sameOldRows(t, "after the second upgrade", snapshotOldTables(ctx, t, old, oldColumns), afterPost)
	h.checkTree(ctx, t, sessions, messages, grown, h.chainB)
}

func isInit(name string) bool { return strings.HasPrefix(name, initMigration+"_") }

// openRaw opens a plain bun handle on the database, for what the
// repositories cannot do: build the old schema, write old rows, read every
// column back.
func openRaw(t *testing.T, dialect, url string) *bun.DB {
	t.Helper()
	var raw *bun.DB
	switch dialect {
	case storage.DialectSQLite:
		// WAL and foreign keys, as chatd has always opened the file.
		path := strings.TrimPrefix(url, "sqlite://")
		sqldb, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)")
		if err != nil {
			t.Fatal(err)
		}
		sqldb.SetMaxOpenConns(1)
		raw = bun.NewDB(sqldb, sqlitedialect.New())
	case storage.DialectPostgres:
		sqldb, err := sql.Open("postgres", url)
		if err != nil {
			t.Fatal(err)
		}
		raw = bun.NewDB(sqldb, pgdialect.New())
	default:
		t.Fatalf("unknown dialect %q", dialect)
	}
	t.Cleanup(func() { _ = raw.Close() })
	return raw
}

// applyInitOnly runs the previous release's only migration through bun's
// migrator, configured as storage configures it, so that the upgrade finds
// the bookkeeping the old binary left.
func applyInitOnly(ctx context.Context, t *testing.T, raw *bun.DB, dialect string) {
	t.Helper()
	dir, err := fs.Sub(migrations.FS, dialect)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := fs.ReadDir(dir, ".")
	if err != nil {
		t.Fatal(err)
	}
	only := fstest.MapFS{}
	for _, e := range entries {
		if isInit(e.Name()) {
			data, err := fs.ReadFile(dir, e.Name())
			if err != nil {
				t.Fatal(err)
			}
			only[e.Name()] = &fstest.MapFile{Data: data}
		}
	}
	if len(only) != 2 {
		t.Fatalf("found %v for %s, want its up and down files", slices.Sorted(maps.Keys(only)), initMigration)
	}
	ms := migrate.NewMigrations()
	if err := ms.Discover(only); err != nil {
		t.Fatal(err)
	}
	m := migrate.NewMigrator(raw, ms, migrate.WithMarkAppliedOnSuccess(true))
	if err := m.Init(ctx); err != nil {
		t.Fatal(err)
	}
	group, err := m.Migrate(ctx)
	if err != nil {
		t.Fatalf("apply %s: %v", initMigration, err)
	}
	if len(group.Migrations) != 1 || group.Migrations[0].Name != initMigration {
		t.Fatalf("applied %v, want %s only", group.Migrations, initMigration)
	}
}

// linearHistory is what seedLinearHistory wrote: session A and B hold a
// chain each, oldest first; session C is empty.
type linearHistory struct {
	owner, member                string
	sessionA, sessionB, sessionC string
	chainA, chainB               []string
	base                         time.Time
}

func (h *linearHistory) at(d time.Duration) time.Time { return h.base.Add(d) }
func (h *linearHistory) newestA() string              { return h.chainA[len(h.chainA)-1] }

// oldMessage is one row of the old chat_messages, in the old code's terms.
type oldMessage struct {
	role, content, status string
	provider, model       string
	member                bool // written by the member, not the owner
	responseMs, tokens    any  // nil or int
	errorMessage          any  // nil or string
	metadata              string
	at                    time.Duration
}

// seedLinearHistory writes rows as the previous release did, with raw SQL:
// ids are UUIDv7 (rising in creation order), times UTC milliseconds, and
// each message's parent is the session's newest message before it (by
// created_at, then id), as the old post chose it. The two chains
// interleave in time so that "newest" must be per session; A's last
// question and reply share a millisecond, as a post and its placeholder
// often did, and only the id orders them.
func seedLinearHistory(ctx context.Context, t *testing.T, raw *bun.DB) *linearHistory {
	t.Helper()
	h := &linearHistory{
		owner: newV7ID(t), member: newV7ID(t), sessionA: newV7ID(t), sessionB: newV7ID(t), sessionC: newV7ID(t),
		base: time.Date(2026, 11, 20, 9, 30, 0, 123_000_000, time.UTC),
	}
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := raw.ExecContext(ctx, query, args...); err != nil {
			t.Fatalf("%s: %v", strings.Fields(query)[:3], err)
		}
	}
	const insertUser = `INSERT INTO users (id, email, display_name, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?, ?)`
	exec(insertUser, h.owner, "owner@example.com", "Owner", "$argon2id$v=19$m=65536,t=1,p=2$c2FsdA$aGFzaA", "user", h.at(0))
	exec(insertUser, h.member, "member@example.com", "Mémbre ✓", "$argon2id$v=19$m=65536,t=1,p=2$c2FsdDI$aGFzaDI", "admin", h.at(time.Second))

	chainA := []oldMessage{
		{role: "system", content: "You are terse.", status: "completed", at: 10 * time.Second},
		{role: "user", content: "hello", status: "completed", at: 12 * time.Second},
		{role: "assistant", content: "Hi.", status: "completed", responseMs: 840, tokens: 3,
			metadata: `{"finish_reason":"stop","usage":{"prompt_tokens":9,"completion_tokens":3}}`, at: 12*time.Second + 5*time.Millisecond},
		{role: "user", content: "and you?\nline two, \"quoted\", 日本語", status: "completed", member: true, at: 20 * time.Second},
		{role: "assistant", content: "partial answ", status: "failed", responseMs: 3000, errorMessage: "upstream-timeout: no answer in 30s",
			metadata: `{"attempts":[{"model":"llama3.2","error":"timeout"}]}`, at: 20*time.Second + 7*time.Millisecond},
		{role: "user", content: "again", status: "completed", at: 30 * time.Second},
		{role: "assistant", content: "", status: "interrupted", errorMessage: "interrupted: the server restarted", at: 30 * time.Second},
	}
	chainB := []oldMessage{
		{role: "user", content: "first in B", status: "completed", at: 11 * time.Second},
		{role: "assistant", content: "B's reply", status: "completed", responseMs: 0, tokens: 2, model: "openai/gpt-4o-mini",
			provider: "OPENROUTER", at: 11*time.Second + time.Millisecond},
		{role: "user", content: "second in B", status: "completed", at: 25 * time.Second},
		{role: "assistant", content: "cancelled", status: "cancelled", model: "openai/gpt-4o-mini", provider: "OPENROUTER",
			at: 25*time.Second + 2*time.Millisecond},
	}

	const insertSession = `INSERT INTO chat_sessions (id, user_id, title, llm_provider, llm_model, settings, is_active,
		message_count, last_message_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	exec(insertSession, h.sessionA, h.owner, "Chain A", "LOCAL", "llama3.2",
		`{"system_prompt":"You are terse.","temperature":0.2,"max_context_messages":20,"stop":[]}`, true,
		len(chainA), h.at(chainA[len(chainA)-1].at), h.at(5*time.Second), h.at(31*time.Second))
	exec(insertSession, h.sessionB, h.owner, "Chain B", "OPENROUTER", "openai/gpt-4o-mini", `{}`, false,
		len(chainB), h.at(chainB[len(chainB)-1].at), h.at(6*time.Second), h.at(40*time.Second))
	exec(insertSession, h.sessionC, h.member, "", "LOCAL", "llama3.2", `{"fallback_models":["qwen2.5"]}`, true,
		0, nil, h.at(7*time.Second), h.at(7*time.Second))
	const insertParticipant = `INSERT INTO session_participants (session_id, user_id, role, created_at) VALUES (?, ?, ?, ?)`
	exec(insertParticipant, h.sessionA, h.owner, "owner", h.at(5*time.Second))
	exec(insertParticipant, h.sessionA, h.member, "member", h.at(8*time.Second))
	exec(insertParticipant, h.sessionB, h.owner, "owner", h.at(6*time.Second))
	exec(insertParticipant, h.sessionC, h.member, "owner", h.at(7*time.Second))

	// Insert in creation order, as the old code did, each after the
	// session's newest so far.
	type pending struct {
		m       oldMessage
		session string
	}
	var all []pending
	for _, m := range chainA {
		all = append(all, pending{m, h.sessionA})
	}
	for _, m := range chainB {
		all = append(all, pending{m, h.sessionB})
	}
	slices.SortStableFunc(all, func(a, b pending) int { return cmp.Compare(a.m.at, b.m.at) })
	newest := map[string]*string{}
	for _, p := range all {
		m := p.m
		id := newV7ID(t)
		author := h.owner
		if m.member {
			author = h.member
		}
		provider, model := "LOCAL", "llama3.2"
		if m.provider != "" {
			provider, model = m.provider, m.model
		}
		metadata := m.metadata
		if metadata == "" {
			metadata = "{}"
		}
		exec(`INSERT INTO chat_messages (id, session_id, user_id, parent_id, role, content, llm_provider, llm_model,
			response_time_ms, tokens_used, error_message, status, message_metadata, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, p.session, author, newest[p.session], m.role, m.content, provider, model,
			m.responseMs, m.tokens, m.errorMessage, m.status, metadata, h.at(m.at), h.at(m.at+time.Second))
		newest[p.session] = &id
		if p.session == h.sessionA {
			h.chainA = append(h.chainA, id)
		} else {
			h.chainB = append(h.chainB, id)
		}
	}

	exec(`INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at, used_at, revoked_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, newV7ID(t), newV7ID(t), h.owner, "sha256:0f3a", h.at(30*24*time.Hour),
		h.at(time.Minute), nil, h.at(2*time.Second))
	exec(`INSERT INTO idempotency_keys (user_id, "key", request_hash, user_message_id, assistant_message_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, h.owner, "retry-1", "sha256:beef", h.chainA[1], h.chainA[2], h.at(12*time.Second))
	return h
}

// checkTree reads the upgraded sessions through the repositories: each
// current message is its session's newest, the current branch and the
// whole list are the chain, the path up from any message is its prefix,
// and no message has a sibling. C has no messages and no current one.
func (h *linearHistory) checkTree(ctx context.Context, t *testing.T, sessions *storage.SessionRepo,
	messages *storage.MessageRepo, chainA, chainB []string,
) {
	t.Helper()
	for _, c := range []struct {
		session string
		chain   []string
	}{{h.sessionA, chainA}, {h.sessionB, chainB}, {h.sessionC, nil}} {
		s, err := sessions.Get(ctx, c.session)
		if err != nil {
			t.Fatal(err)
		}
		var want *string
		if len(c.chain) > 0 {
			want = &c.chain[len(c.chain)-1]
		}
		if !reflect.DeepEqual(s.CurrentMessageID(), want) {
			t.Fatalf("session %s: current message %s, want its newest %s", c.session, showID(s.CurrentMessageID()), showID(want))
		}
		for _, q := range []ports.MessageQuery{
			{Branch: domain.BranchCurrent, Order: ports.OrderAsc, Page: ports.Page{Number: 1, Size: 100}},
			{Branch: domain.BranchAll, Order: ports.OrderAsc, Page: ports.Page{Number: 1, Size: 100}},
		} {
			listed, total, err := messages.List(ctx, c.session, q)
			if err != nil {
				t.Fatal(err)
			}
			if got := listedIDs(listed); !slices.Equal(got, c.chain) || total != len(c.chain) {
				t.Fatalf("session %s, branch=%s: listed %v (total %d), want the old chain %v", c.session, q.Branch, got, total, c.chain)
			}
			for i, m := range listed {
				var parent *string
				if i > 0 {
					parent = &c.chain[i-1]
				}
				if !reflect.DeepEqual(m.ParentID(), parent) {
					t.Fatalf("message %s: parent %s, want %s", m.ID(), showID(m.ParentID()), showID(parent))
				}
			}
			siblings, err := messages.SiblingIDs(ctx, c.session, listed)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range listed {
				if got := siblings[m.ID()]; !slices.Equal(got, []string{m.ID()}) {
					t.Fatalf("message %s: siblings %v, want only itself", m.ID(), got)
				}
			}
		}
		if len(c.chain) < 3 {
			continue
		}
		// The current branch read backwards, and one page of it.
		desc, _, err := messages.List(ctx, c.session, ports.MessageQuery{Branch: domain.BranchCurrent, Order: ports.OrderDesc,
			Page: ports.Page{Number: 1, Size: 100}})
		if err != nil {
			t.Fatal(err)
		}
		reversed := slices.Clone(c.chain)
		slices.Reverse(reversed)
		if got := listedIDs(desc); !slices.Equal(got, reversed) {
			t.Fatalf("session %s: branch=current desc %v, want the chain reversed", c.session, got)
		}
		page, total, err := messages.List(ctx, c.session, ports.MessageQuery{Branch: domain.BranchCurrent, Order: ports.OrderAsc,
			Page: ports.Page{Number: 2, Size: 2}})
		if err != nil {
			t.Fatal(err)
		}
		if got := listedIDs(page); !slices.Equal(got, c.chain[2:min(4, len(c.chain))]) || total != len(c.chain) {
			t.Fatalf("session %s: page 2 of 2 = %v (total %d), want %v", c.session, got, total, c.chain[2:min(4, len(c.chain))])
		}
		path, err := messages.Ancestors(ctx, c.chain[len(c.chain)-1], 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := listedIDs(path); !slices.Equal(got, c.chain) {
			t.Fatalf("session %s: ancestors of the newest = %v, want the chain", c.session, got)
		}
		path, err = messages.Ancestors(ctx, c.chain[2], 2)
		if err != nil {
			t.Fatal(err)
		}
		if got := listedIDs(path); !slices.Equal(got, c.chain[1:3]) {
			t.Fatalf("session %s: the last 2 ancestors of the 3rd = %v, want %v", c.session, got, c.chain[1:3])
		}
	}
}

// oldTableRows is every row of a table, each cell as text, in key order.
type oldTableRows struct {
	columns []string
	rows    [][]string
}

// oldTables are the init schema's tables, each with its key.
var oldTables = map[string]string{
	"users": "id", "chat_sessions": "id", "session_participants": "session_id, user_id",
	"chat_messages": "id", "refresh_tokens": "id", "idempotency_keys": `user_id, "key"`,
}

// snapshot reads every row of the old tables: all their columns when
// columns is nil, else only the columns named (the old ones, so that what
// a migration adds is left out of the comparison).
func snapshotOldTables(ctx context.Context, t *testing.T, raw *bun.DB, columns map[string][]string) map[string]oldTableRows {
	t.Helper()
	out := map[string]oldTableRows{}
	for table, key := range oldTables {
		sel := "*"
		if columns != nil {
			quoted := make([]string, 0, len(columns[table]))
			for _, c := range columns[table] {
				quoted = append(quoted, `"`+c+`"`)
			}
			sel = strings.Join(quoted, ", ")
		}
		tr, err := readRows(ctx, raw, "SELECT "+sel+" FROM "+table+" ORDER BY "+key)
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		out[table] = tr
	}
	return out
}

func readRows(ctx context.Context, raw *bun.DB, query string) (oldTableRows, error) {
	rows, err := raw.QueryContext(ctx, query)
	if err != nil {
		return oldTableRows{}, err
	}
	defer func() { _ = rows.Close() }()
	cols, err := rows.Columns()
	if err != nil {
		return oldTableRows{}, err
	}
	tr := oldTableRows{columns: cols}
	for rows.Next() {
		cells := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range cells {
			ptrs[i] = &cells[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return oldTableRows{}, err
		}
		text := make([]string, len(cells))
		for i, c := range cells {
			text[i] = cellText(c)
		}
		tr.rows = append(tr.rows, text)
	}
	return tr, rows.Err()
}

// cellText writes a value as the driver returned it; times are compared
// as instants (lib/pq answers in the session's zone).
func cellText(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case []byte:
		return fmt.Sprintf("%q", v)
	case string:
		return fmt.Sprintf("%q", v)
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	default:
		return fmt.Sprintf("%T %v", v, v)
	}
}

func sameOldRows(t *testing.T, when string, got, want map[string]oldTableRows) {
	t.Helper()
	for _, table := range slices.Sorted(maps.Keys(want)) {
		g, w := got[table], want[table]
		if !slices.Equal(g.columns, w.columns) {
			t.Fatalf("%s: %s has columns %v, want %v", when, table, g.columns, w.columns)
		}
		if len(g.rows) != len(w.rows) {
			t.Fatalf("%s: %s has %d rows, want %d", when, table, len(g.rows), len(w.rows))
		}
		for i := range w.rows {
			for j, col := range w.columns {
				if g.rows[i][j] != w.rows[i][j] {
					t.Fatalf("%s: %s row %d (%s) column %s = %s, want %s", when, table, i, w.rows[i][0], col, g.rows[i][j], w.rows[i][j])
				}
			}
		}
	}
}

func sameNames(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

func listedIDs(ms []*domain.ChatMessage) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.ID())
	}
	return out
}

func showID(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

// newV7 makes ids as chatd does: UUIDv7, rising in creation order.
func newV7ID(t *testing.T) string {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}
