package storagetest

import (
	"context"
	"database/sql"
	"io/fs"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/adapters/storage"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
	"github.com/chatd/chatd/migrations"
)

// search runs q for user and returns the ids found, in order, and the count.
func (f *fixture) search(t *testing.T, user *domain.User, q string, sessionID *string, p ports.Page) ([]string, int) {
	t.Helper()
	sq, err := domain.ParseSearchQuery(q)
	must(t, err)
	hits, total, err := storage.NewMessageSearch(f.db).Search(f.ctx, user.ID(), sq, sessionID, p)
	if err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	ids := make([]string, 0, len(hits))
	for _, h := range hits {
		ids = append(ids, h.Message.ID())
	}
	return ids, total
}

// finds checks that q finds exactly want (in any order) for user, and that
// the count says so.
func (f *fixture) finds(t *testing.T, user *domain.User, q string, want ...*domain.ChatMessage) {
	t.Helper()
	got, total := f.search(t, user, q, nil, ports.Page{Number: 1, Size: 100})
	wantIDs := idsOf(want)
	slices.Sort(got)
	slices.Sort(wantIDs)
	if !slices.Equal(got, wantIDs) || total != len(want) {
		t.Fatalf("search %q found %v (count %d), want %v", q, got, total, wantIDs)
	}
}

// findsInOrder checks the order too.
func (f *fixture) findsInOrder(t *testing.T, user *domain.User, q string, want ...*domain.ChatMessage) {
	t.Helper()
	got, total := f.search(t, user, q, nil, ports.Page{Number: 1, Size: 100})
	if !slices.Equal(got, idsOf(want)) || total != len(want) {
		t.Fatalf("search %q found %v (count %d), want %v", q, got, total, idsOf(want))
	}
}

// root stores a user message as a new first message of s: a branch of its own.
func (f *fixture) root(t *testing.T, s *domain.ChatSession, author *domain.User, content string) *domain.ChatMessage {
	t.Helper()
	m, err := domain.NewPostedMessage(newID(), s.ID(), author.ID(), nil, domain.RoleUser, content,
		domain.DefaultMaxMessageChars, s, f.tick(time.Second))
	must(t, err)
	must(t, f.messages.CreateTurn(f.ctx, ports.NewTurn{Message: m, Placement: domain.Under(nil)}))
	return m
}

// reply stores a reply under m with content, as a generation saves it.
func (f *fixture) reply(t *testing.T, s *domain.ChatSession, m *domain.ChatMessage, content string) *domain.ChatMessage {
	t.Helper()
	id := m.ID()
	r, err := domain.NewReplyPlaceholder(newID(), s.ID(), m.UserID(), &id, s.Provider(), s.Model(), f.tick(time.Second))
	must(t, err)
	must(t, f.messages.CreateTurn(f.ctx, ports.NewTurn{Reply: r, Placement: domain.Under(&id)}))
	must(t, r.StartStreaming(f.tick(time.Millisecond)))
	must(t, r.Complete(content, domain.GenerationResult{FinishReason: "stop"}, f.tick(time.Second)))
	must(t, f.messages.Save(f.ctx, r))
	return r
}

var searchTests = map[string]func(t *testing.T, f *fixture){
	"case is ignored, accents are kept, in every script": searchScripts,
	"PostgreSQL finds the same in a database whose locale is C": func(t *testing.T, f *fixture) {
		if f.db.Dialect() != storage.DialectPostgres {
			t.Skip("only PostgreSQL databases have a locale")
		}
		// Classes and case come from the C.UTF-8 collation, not from the
		// database's LC_CTYPE, under which é would not be a letter.
		searchScripts(t, newFixture(t, openMigrated(t, freshPostgresURLWithCType(t, "C"))))
	},
	"the last word is a prefix, the others whole words": func(t *testing.T, f *fixture) {
		u := f.user(t, "u@example.com")
		s := f.session(t, u, "prefixes")
		hw, _ := f.post(t, s, u, "hello world", false)
		help, _ := f.post(t, s, u, "help wanted", false)
		heli, _ := f.post(t, s, u, "helicopter hello", false)

		f.finds(t, u, "hel", hw, help, heli)
		f.finds(t, u, "hello", hw, heli)
		f.finds(t, u, "wor", hw)
		f.finds(t, u, "hel world")
		f.finds(t, u, "world hel", hw)
		f.finds(t, u, "hello hel", hw, heli)
	},
	"quoted words are a phrase": func(t *testing.T, f *fixture) {
		u := f.user(t, "u@example.com")
		s := f.session(t, u, "phrases")
		qb, _ := f.post(t, s, u, "the quick brown fox", false)
		bq, _ := f.post(t, s, u, "brown quick the fox", false)
		punct, _ := f.post(t, s, u, "Quick, brown!", false)

		f.finds(t, u, `"quick brown"`, qb, punct)
		f.finds(t, u, `"brown quick"`, bq)
		f.finds(t, u, `quick brown`, qb, bq, punct)
		f.finds(t, u, `"quick brown`, qb, bq, punct)
		f.finds(t, u, `"fox"`, qb, bq)
		f.finds(t, u, `"fo"`)
		f.finds(t, u, `"quick brown" fox`, qb)
		f.finds(t, u, `fox "quick brown"`, qb)
		f.finds(t, u, `“the quick”`, qb)
	},
	"engine syntax is searched as words": func(t *testing.T, f *fixture) {
		u := f.user(t, "u@example.com")
		s := f.session(t, u, "syntax")
		ops, _ := f.post(t, s, u, "use a AND b OR c NOT d", false)
		near, _ := f.post(t, s, u, "NEAR(x y) col:val ^start", false)
		plain, _ := f.post(t, s, u, "plain text", false)

		for q, want := range map[string][]*domain.ChatMessage{
			"AND": {ops}, "or": {ops}, "NOT d": {ops}, "a AND b": {ops}, `a & b | !c <-> d:*`: {ops},
			"NEAR(x": {near}, "col:val": {near}, "^start": {near}, `"x y"`: {near}, "(x y)": {near},
			"text*": {plain}, "-plain": {plain}, `plain\`: {plain}, `'plain'`: {plain},
			"*": nil, `"`: nil, "(": nil, `\`: nil, "'": nil, "'; DROP TABLE chat_messages; --": nil,
		} {
			f.finds(t, u, q, want...)
		}
	},
	"only sessions the caller takes part in, every branch": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		member := f.user(t, "member@example.com")
		viewer := f.user(t, "viewer@example.com")
		stranger := f.user(t, "stranger@example.com")
		team := f.session(t, owner, "Team")
		for _, p := range []domain.Participant{
			{SessionID: team.ID(), UserID: member.ID(), Role: domain.ParticipantMember, CreatedAt: f.now},
			{SessionID: team.ID(), UserID: viewer.ID(), Role: domain.ParticipantViewer, CreatedAt: f.now},
		} {
			must(t, f.sessions.AddParticipant(f.ctx, p))
		}
		first, _ := f.post(t, team, owner, "secret apple", false)
		// Another first message: a second branch of the same session.
		second := f.root(t, team, member, "apple, branch two")
		answer := f.reply(t, team, first, "An apple a day")
		theirs := f.session(t, stranger, "Theirs")
		strangers, _ := f.post(t, theirs, stranger, "apple of my eye", false)

		for _, u := range []*domain.User{owner, member, viewer} {
			f.finds(t, u, "apple", first, second, answer)
		}
		f.finds(t, stranger, "apple", strangers)

		// Titles come with the hits; the session filter narrows.
		hits, total, err := storage.NewMessageSearch(f.db).Search(f.ctx, owner.ID(), mustSearch(t, "secret"), nil, ports.Page{Number: 1, Size: 10})
		must(t, err)
		if total != 1 || len(hits) != 1 || hits[0].SessionTitle != "Team" || hits[0].Message.Content() != "secret apple" {
			t.Fatalf("hits = %+v, total %d", hits, total)
		}
		teamID, theirID := team.ID(), theirs.ID()
		if got, n := f.search(t, owner, "apple", &teamID, ports.Page{Number: 1, Size: 10}); len(got) != 3 || n != 3 {
			t.Fatalf("in the team session: %v (%d)", got, n)
		}
		if got, n := f.search(t, owner, "apple", &theirID, ports.Page{Number: 1, Size: 10}); len(got) != 0 || n != 0 {
			t.Fatalf("in a session of another: %v (%d)", got, n)
		}
		missing := newID()
		if got, n := f.search(t, owner, "apple", &missing, ports.Page{Number: 1, Size: 10}); len(got) != 0 || n != 0 {
			t.Fatalf("in a missing session: %v (%d)", got, n)
		}

		// A removed participant stops finding at once.
		must(t, f.sessions.RemoveParticipant(f.ctx, team.ID(), member.ID()))
		f.finds(t, member, "apple")
		f.finds(t, viewer, "apple", first, second, answer)
	},
	"deletes and edits change what is found at once": func(t *testing.T, f *fixture) {
		u := f.user(t, "u@example.com")
		s := f.session(t, u, "changes")
		split, _ := f.post(t, s, u, "banana split", false)
		pie := f.reply(t, s, split, "cherry pie")
		bread := f.root(t, s, u, "banana bread")
		f.finds(t, u, "banana", split, bread)
		f.finds(t, u, "cherry", pie)

		_, err := f.messages.DeleteSubtree(f.ctx, split.ID(), f.tick(time.Second))
		must(t, err)
		f.finds(t, u, "banana", bread)
		f.finds(t, u, "cherry")

		content := "mango bread"
		_, err = f.messages.Update(f.ctx, bread.ID(), func(m *domain.ChatMessage) error {
			return m.Edit(u.ID(), domain.MessageEdit{Content: &content}, domain.DefaultMaxMessageChars, f.tick(time.Second))
		})
		must(t, err)
		f.finds(t, u, "banana")
		f.finds(t, u, "mango", bread)
		f.finds(t, u, "bread", bread)
		// Changing only the metadata keeps the words.
		_, err = f.messages.Update(f.ctx, bread.ID(), func(m *domain.ChatMessage) error {
			return m.Edit(u.ID(), domain.MessageEdit{Metadata: map[string]any{"k": "v"}}, domain.DefaultMaxMessageChars, f.tick(time.Second))
		})
		must(t, err)
		f.finds(t, u, "mango", bread)

		must(t, f.sessions.Delete(f.ctx, s.ID()))
		f.finds(t, u, "mango")
		f.finds(t, u, "bread")
	},
	"a reply is found as it streams and when it ends": func(t *testing.T, f *fixture) {
		u := f.user(t, "u@example.com")
		s := f.session(t, u, "stream")
		m, r := f.post(t, s, u, "question", true)
		f.finds(t, u, "question", m)
		must(t, r.StartStreaming(f.tick(time.Millisecond)))
		must(t, r.RecordProgress("partial answer", f.tick(time.Second)))
		must(t, f.messages.Save(f.ctx, r))
		f.finds(t, u, "partial", r)
		must(t, r.Complete("final answer", domain.GenerationResult{FinishReason: "stop"}, f.tick(time.Second)))
		must(t, f.messages.Save(f.ctx, r))
		f.finds(t, u, "partial")
		f.finds(t, u, "answer", r)
	},
	"best matches first, then newest; pages and counts": func(t *testing.T, f *fixture) {
		u := f.user(t, "u@example.com")
		s := f.session(t, u, "ranks")
		most, _ := f.post(t, s, u, "apple apple apple pie", false)
		older, _ := f.post(t, s, u, "apple tart with cream", false)
		newer, _ := f.post(t, s, u, "apple tart with cream", false)
		f.findsInOrder(t, u, "apple", most, newer, older)

		var posted []*domain.ChatMessage
		for i := range 25 {
			m, _ := f.post(t, s, u, "page word "+strings.Repeat("x", i+1), false)
			posted = append(posted, m)
		}
		slices.Reverse(posted)
		want := idsOf(posted)
		for page, from := range []int{0, 10, 20, 25} {
			got, total := f.search(t, u, "page word", nil, ports.Page{Number: page + 1, Size: 10})
			if total != 25 || !slices.Equal(got, want[from:min(from+10, 25)]) {
				t.Fatalf("page %d: %v (count %d), want %v", page+1, got, total, want[from:min(from+10, 25)])
			}
		}
	},
	"what is indexed stops where PostgreSQL's index stops": func(t *testing.T, f *fixture) {
		u := f.user(t, "u@example.com")
		s := f.session(t, u, "limits")
		q, _ := f.post(t, s, u, "question", false)
		// The first SearchIndexedChars characters only: "early" ends exactly there.
		head := strings.Repeat("ab ", (domain.SearchIndexedChars-5)/3) + "early"
		if len([]rune(head)) != domain.SearchIndexedChars {
			t.Fatalf("head has %d characters", len([]rune(head)))
		}
		long := f.reply(t, s, q, head+" late")
		f.finds(t, u, "early", long)
		f.finds(t, u, "late")
		// Words over 2047 bytes are left out and take no position.
		huge, _ := f.post(t, s, u, "start "+strings.Repeat("q", 2048)+" end "+strings.Repeat("k", 2047), false)
		f.finds(t, u, `"start end"`, huge)
		f.finds(t, u, "qqq")
		f.finds(t, u, "kkk", huge)
		// The 255 first places of a word count, the others match nothing.
		rep, _ := f.post(t, s, u, strings.Repeat("w ", 300)+"tail", false)
		f.finds(t, u, `"w w"`, rep)
		f.finds(t, u, `"w tail"`)
		f.finds(t, u, "tail", rep)
	},
	"messages stored before the index are found": func(t *testing.T, f *fixture) {
		// A database of its own, taken back to before the search migration by
		// its own down file, filled, then brought forward by its up file.
		g, raw := freshRaw(t, f.db.Dialect())
		runMigrationFile(t, raw, g.db.Dialect(), "20261203000002_search.down.sql")
		u := g.user(t, "u@example.com")
		s := g.session(t, u, "before")
		// Three first messages, so that each can go without the others.
		first := g.root(t, s, u, "stored before search existed")
		second := g.root(t, s, u, "stored before as well")
		third := g.root(t, s, u, "stored before, the last")
		runMigrationFile(t, raw, g.db.Dialect(), "20261203000002_search.up.sql")
		g.finds(t, u, "stored before", first, second, third)
		g.finds(t, u, "existed", first)

		_, err := g.messages.DeleteSubtree(g.ctx, first.ID(), g.tick(time.Second))
		must(t, err)
		if g.db.Dialect() == storage.DialectSQLite {
			// VACUUM may renumber chat_messages' implicit rowids (the first
			// is free now); the index keys its rows by ids of its own.
			if _, err := raw.ExecContext(g.ctx, "VACUUM"); err != nil {
				t.Fatal(err)
			}
		}
		g.finds(t, u, "existed")
		g.finds(t, u, "well", second)
		g.finds(t, u, "last", third)
		_, err = g.messages.DeleteSubtree(g.ctx, second.ID(), g.tick(time.Second))
		must(t, err)
		g.finds(t, u, "stored", third)
		fresh := g.root(t, s, u, "stored after")
		g.finds(t, u, "stored", third, fresh)
		g.finds(t, u, "well")
	},
}

// searchScripts checks words of several scripts, and what makes a word.
func searchScripts(t *testing.T, f *fixture) {
	u := f.user(t, "u@example.com")
	s := f.session(t, u, "words")
	ete, _ := f.post(t, s, u, "L'été dernier à Paris", false)
	plain, _ := f.post(t, s, u, "ete sans accent", false)
	ru, _ := f.post(t, s, u, "Привет, как дела?", false)
	el, _ := f.post(t, s, u, "ΣΟΦΟΣ άνθρωπος", false)
	elLower, _ := f.post(t, s, u, "ο σοφος", false)
	de, _ := f.post(t, s, u, "Die Straße", false)
	mail, _ := f.post(t, s, u, "write to foo-bar.baz@example.com, or not", false)
	odd, _ := f.post(t, s, u, "thanks🫠friend x²y ⅻ <b>bold</b> 1.5e3", false)
	hi, _ := f.post(t, s, u, "हिन्दी भाषा", false)

	f.finds(t, u, "ÉTÉ", ete)
	f.finds(t, u, "été", ete)
	f.finds(t, u, "ete", plain)
	f.finds(t, u, "ПРИВЕТ", ru)
	f.finds(t, u, "привет", ru)
	f.finds(t, u, "ПРИВ", ru)
	f.finds(t, u, "σοφος", el, elLower)
	f.finds(t, u, "ΣΟΦΟΣ", el, elLower)
	f.finds(t, u, "ΆΝΘΡΩΠΟΣ", el)
	f.finds(t, u, "STRAẞE", de)
	f.finds(t, u, "strasse")
	f.finds(t, u, "example", mail)
	f.finds(t, u, "bar baz", mail)
	f.finds(t, u, "COM", mail)
	f.finds(t, u, "paris ÉTÉ", ete)
	f.finds(t, u, "été london")
	// Emoji, superscripts and markup separate words; letter numbers are letters.
	f.finds(t, u, "thanks friend", odd)
	f.finds(t, u, `"x y"`, odd)
	f.finds(t, u, "Ⅻ", odd)
	f.finds(t, u, "bold", odd)
	f.finds(t, u, "5e3", odd)
	f.finds(t, u, "1.5", odd)
	f.finds(t, u, "हिन्दी", hi)
}

func mustSearch(t *testing.T, q string) domain.SearchQuery {
	t.Helper()
	sq, err := domain.ParseSearchQuery(q)
	must(t, err)
	return sq
}

// freshRaw opens a new migrated database of the dialect with a fixture over
// it, and a plain connection to the same database for statements the ports
// do not offer.
func freshRaw(t *testing.T, dialect string) (*fixture, *sql.DB) {
	t.Helper()
	var dbURL, driver, dsn string
	if dialect == storage.DialectPostgres {
		dbURL = FreshPostgresURL(t)
		driver, dsn = "postgres", dbURL
	} else {
		dbURL = SQLiteURL(t)
		driver = "sqlite"
		dsn = strings.TrimPrefix(dbURL, "sqlite://") + "?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)"
	}
	db := openMigrated(t, dbURL)
	raw, err := sql.Open(driver, dsn)
	must(t, err)
	raw.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = raw.Close() })
	return newFixture(t, db), raw
}

// runMigrationFile runs one embedded migration file statement by
// statement, as the migrator does.
func runMigrationFile(t *testing.T, raw *sql.DB, dialect, name string) {
	t.Helper()
	body, err := fs.ReadFile(migrations.FS, dialect+"/"+name)
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	for _, stmt := range strings.Split(string(body), "--bun:split") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := raw.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, stmt)
		}
	}
}

// freshPostgresURLWithCType is FreshPostgresURL for a database created with
// the given LC_COLLATE and LC_CTYPE.
func freshPostgresURLWithCType(t *testing.T, ctype string) string {
	t.Helper()
	base := PostgresServerURL(t)
	u, err := url.Parse(base)
	must(t, err)
	admin, err := sql.Open("postgres", base)
	must(t, err)
	t.Cleanup(func() { _ = admin.Close() })
	name := "chatd_test_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	// The name is ours (hex) and the locale a constant of the test.
	_, err = admin.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE '"+ctype+"' LC_CTYPE '"+ctype+"'")
	must(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}
