package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/adapters/storage"
	"github.com/chatd/chatd/internal/adapters/storage/storagetest"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// Full-text search at size: 1,000,000 messages in 10,000 sessions of 100,
// owned by searchUsers users (each the owner participant of their own
// sessions), searched by one of them through ports.MessageSearch, first page
// of 20, as GET /api/v1/chat/search asks it. Queries are two words, the
// last one a prefix (the contract's rule for a bare last word), in three
// mixes: a common and a rare word, two rare words, two common words. Each
// sub-benchmark runs its fixed set of queries once per op and reports the
// mean, median and 99th percentile of single queries, and the mean number
// of matches (total, before paging).
//
// Seeding writes a million rows and takes minutes (SQLite fires its index
// triggers for every row), so these run only with CHAT_BENCH_SEARCH=1:
//
//	CHAT_BENCH_SEARCH=1 go test -run '^$' -bench Search -benchtime=1x -timeout 30m ./test/bench/
//
// CHAT_BENCH_SEARCH_EXPLAIN=1 also logs PostgreSQL's EXPLAIN ANALYZE of the
// slowest query of each mix (run with -v: without it a benchmark's log is
// cut to 10 lines).

const (
	searchSessions        = 10_000
	searchPerSession      = 100
	searchUsers           = 10
	searchPageSize        = 20
	searchQueriesPerMix   = 100
	searchSessionsPerTx   = 200 // 20,000 messages per seeding transaction
	searchRowsPerInsert   = 1000
	searchMixBudget       = 2 * time.Minute // a mix stops early past this, with what it measured
	envBenchSearch        = "CHAT_BENCH_SEARCH"
	envBenchSearchExplain = "CHAT_BENCH_SEARCH_EXPLAIN"
)

func BenchmarkSearchSQLite(b *testing.B) {
	skipUnlessSearch(b)
	benchSearch(b, "sqlite://"+filepath.Join(dataDir(b), "chat.db"))
}

func BenchmarkSearchPostgres(b *testing.B) {
	skipUnlessSearch(b)
	benchSearch(b, storagetest.FreshPostgresURL(b))
}

func skipUnlessSearch(b *testing.B) {
	if os.Getenv(envBenchSearch) != "1" {
		b.Skipf("%s=1 runs it: seeding a million messages takes minutes", envBenchSearch)
	}
}

func benchSearch(b *testing.B, dbURL string) {
	ctx := context.Background()
	db, err := storage.Open(ctx, storage.Config{URL: dbURL}, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	raw := openSeeder(b, dbURL)

	start := time.Now()
	seeded := seedSearch(ctx, b, raw)
	seedTook := time.Since(start)
	if db.Dialect() == storage.DialectPostgres {
		// What autovacuum would soon do on its own: statistics for the
		// planner, and the GIN index's pending list merged into the index.
		// The checkpoint writes the seed out now rather than during the
		// measurements.
		for _, stmt := range []string{
			"VACUUM ANALYZE chat_messages, chat_sessions, session_participants, message_search", "CHECKPOINT",
		} {
			if _, err := raw.ExecContext(ctx, stmt); err != nil {
				b.Fatal(err)
			}
		}
	}
	seedLog := fmt.Sprintf("%s: seeded %d messages in %d sessions for %d users in %s (+%s vacuum/analyze)",
		db.Dialect(), searchSessions*searchPerSession, searchSessions, searchUsers,
		seedTook.Round(time.Second), (time.Since(start) - seedTook).Round(time.Second))

	search := storage.NewMessageSearch(db)
	userID := seeded.users[0]
	mixes := seeded.vocab.queries()
	// One unmeasured pass, as a running server's caches would be warm.
	for _, mix := range mixes {
		for _, raw := range mix.queries {
			if q, err := domain.ParseSearchQuery(raw); err == nil {
				_, _, _ = search.Search(ctx, userID, q, nil, ports.Page{Number: 1, Size: searchPageSize})
			}
		}
	}
	var all []time.Duration
	for _, mix := range mixes {
		b.Run(mix.name, func(b *testing.B) {
			var took []time.Duration
			var matches int
			slowest, slowestTook := "", time.Duration(0)
			b.ResetTimer()
			for range b.N {
				took, matches = took[:0], 0
				deadline := time.Now().Add(searchMixBudget)
				for _, raw := range mix.queries {
					if time.Now().After(deadline) {
						break
					}
					q, err := domain.ParseSearchQuery(raw)
					if err != nil {
						b.Fatalf("%q: %v", raw, err)
					}
					t0 := time.Now()
					hits, total, err := search.Search(ctx, userID, q, nil, ports.Page{Number: 1, Size: searchPageSize})
					d := time.Since(t0)
					if err != nil {
						b.Fatalf("search %q: %v", raw, err)
					}
					if err := checkHits(raw, hits, total, userID); err != nil {
						b.Fatal(err)
					}
					took, matches = append(took, d), matches+total
					if d > slowestTook {
						slowest, slowestTook = raw, d
					}
				}
			}
			b.StopTimer()
			all = append(all, took...)
			reportLatencies(b, took)
			b.ReportMetric(float64(matches)/float64(len(took)), "matches/query")
			b.ReportMetric(float64(len(took)), "queries")
			b.ReportMetric(seedTook.Seconds(), "seed-s")
			b.Logf("%s %s: %d queries, slowest %q in %s", db.Dialect(), mix.name, len(took), slowest, slowestTook)
			if os.Getenv(envBenchSearchExplain) == "1" && db.Dialect() == storage.DialectPostgres {
				explainSearch(ctx, b, raw, userID, slowest)
			}
		})
	}
	// Every query of every mix above, measured once: only its latency
	// metrics mean anything (a parent benchmark's own log is not shown, so
	// the seeding summary is logged here).
	b.Run("all-mixes", func(b *testing.B) {
		b.Log(seedLog)
		reportLatencies(b, all)
		b.ReportMetric(float64(len(all)), "queries")
		b.ReportMetric(seedTook.Seconds(), "seed-s")
	})
}

// checkHits checks, cheaply, that a page answers its query: at most a page,
// no more than the total, and every hit holds the query's first word.
func checkHits(raw string, hits []ports.SearchHit, total int, userID string) error {
	if len(hits) > searchPageSize || len(hits) > total || (total > 0 && len(hits) == 0) {
		return fmt.Errorf("search %q: %d hits of %d", raw, len(hits), total)
	}
	first, _, _ := strings.Cut(raw, " ")
	for _, h := range hits {
		if h.Message.UserID() != userID {
			return fmt.Errorf("search %q: found a message of user %s", raw, h.Message.UserID())
		}
		if !slices.Contains(strings.Fields(domain.SearchDocument(h.Message.Content())), first) {
			return fmt.Errorf("search %q: hit %s lacks %q", raw, h.Message.ID(), first)
		}
	}
	return nil
}

// reportLatencies reports the mean, median and 99th percentile of single
// calls in milliseconds.
func reportLatencies(b *testing.B, took []time.Duration) {
	if len(took) == 0 {
		return
	}
	sorted := slices.Clone(took)
	slices.Sort(sorted)
	b.ReportMetric(meanMillis(sorted), "mean-ms")
	b.ReportMetric(quantileMillis(sorted, 0.50), "p50-ms")
	b.ReportMetric(quantileMillis(sorted, 0.99), "p99-ms")
}

// quantileMillis is the nearest-rank quantile q of sorted durations, in ms.
func quantileMillis(sorted []time.Duration, q float64) float64 {
	i := min(max(int(q*float64(len(sorted))+0.999999)-1, 0), len(sorted)-1)
	return float64(sorted[i]) / float64(time.Millisecond)
}

func meanMillis(ds []time.Duration) float64 {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return float64(sum) / float64(len(ds)) / float64(time.Millisecond)
}

// explainSearch logs PostgreSQL's plan for raw. The statement mirrors the
// one storage.MessageSearch sends for a first page without a session
// filter; keep them alike.
func explainSearch(ctx context.Context, b *testing.B, db *bun.DB, userID, raw string) {
	q, err := domain.ParseSearchQuery(raw)
	if err != nil || raw == "" {
		return
	}
	render := func(terms []domain.SearchTerm) string {
		var parts []string
		for _, t := range terms {
			p := "('" + strings.Join(t.Words, "' <-> '") + "'"
			if t.Prefix {
				p += ":*"
			}
			parts = append(parts, p+")")
		}
		return strings.Join(parts, " & ")
	}
	tsq := render(q.Terms())
	indexed := tsq
	var whole []domain.SearchTerm
	for _, t := range q.Terms() {
		if !t.Prefix || utf8.RuneCountInString(t.Words[len(t.Words)-1]) > 3 {
			whole = append(whole, t)
		}
	}
	if len(whole) > 0 {
		indexed = render(whole)
	}
	// A copy of storage/search.go's PostgreSQL query: keep the two in step.
	rows, err := db.QueryContext(ctx, `EXPLAIN (ANALYZE, BUFFERS)
		SELECT m.id, m.content, s.title AS session_title, e.total_count
		FROM (SELECT e.*, COUNT(*) OVER () AS total_count FROM (
			SELECT e.message_id, e.created_at, ts_rank(e.search_vector, to_tsquery('simple', ?), 1) AS rank
			FROM message_search e WHERE e.user_id = ? AND e.search_vector @@ to_tsquery('simple', ?)
			AND ts_match_vq(e.search_vector, to_tsquery('simple', ?)) OFFSET 0) e
			ORDER BY e.rank DESC, e.created_at DESC, e.message_id DESC LIMIT 20 OFFSET 0) e
		JOIN chat_messages m ON m.id = e.message_id
		JOIN chat_sessions s ON s.id = m.session_id
		ORDER BY e.rank DESC, e.created_at DESC, e.message_id DESC`, tsq, userID, indexed, tsq)
	if err != nil {
		b.Logf("explain %q: %v", raw, err)
		return
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			b.Logf("explain %q: %v", raw, err)
			return
		}
		plan.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		b.Logf("explain %q: %v", raw, err)
		return
	}
	b.Logf("EXPLAIN ANALYZE %q (%s):\n%s", raw, tsq, plan.String())
}

// Seed rows: columns left out take their defaults.
type searchSeedUser struct {
	bun.BaseModel `bun:"table:users"`

	ID           string    `bun:"id"`
	Email        string    `bun:"email"`
	DisplayName  string    `bun:"display_name"`
	PasswordHash string    `bun:"password_hash"`
	Role         string    `bun:"role"`
	CreatedAt    time.Time `bun:"created_at"`
}

type searchSeedSession struct {
	bun.BaseModel `bun:"table:chat_sessions"`

	ID               string    `bun:"id"`
	UserID           string    `bun:"user_id"`
	Title            string    `bun:"title"`
	LLMProvider      string    `bun:"llm_provider"`
	LLMModel         string    `bun:"llm_model"`
	MessageCount     int       `bun:"message_count"`
	LastMessageAt    time.Time `bun:"last_message_at"`
	CreatedAt        time.Time `bun:"created_at"`
	UpdatedAt        time.Time `bun:"updated_at"`
	CurrentMessageID string    `bun:"current_message_id"`
}

type searchSeedParticipant struct {
	bun.BaseModel `bun:"table:session_participants"`

	SessionID string    `bun:"session_id"`
	UserID    string    `bun:"user_id"`
	Role      string    `bun:"role"`
	CreatedAt time.Time `bun:"created_at"`
}

type searchSeeded struct {
	users []string
	vocab *vocabulary
}

// seedSearch writes the users, then the sessions in transactions of
// searchSessionsPerTx sessions each (sessions, owners, then their messages,
// multi-row INSERTs of plain rows, so the search index is filled by what
// fills it in production: the triggers on SQLite, the generated column on
// PostgreSQL). Each session is a chain of alternating user and assistant
// messages a minute apart.
func seedSearch(ctx context.Context, b *testing.B, raw *bun.DB) searchSeeded {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	vocab := newVocabulary(rng)
	t0 := time.Now().UTC().Truncate(time.Millisecond).Add(-400 * 24 * time.Hour)
	users := make([]searchSeedUser, searchUsers)
	out := searchSeeded{vocab: vocab}
	for i := range users {
		users[i] = searchSeedUser{ID: uuid.Must(uuid.NewV7()).String(), Email: fmt.Sprintf("search-%d@example.com", i),
			DisplayName: fmt.Sprintf("User %d", i), PasswordHash: "x", Role: "user", CreatedAt: t0}
		out.users = append(out.users, users[i].ID)
	}
	if _, err := raw.NewInsert().Model(&users).Exec(ctx); err != nil {
		b.Fatal(err)
	}
	tokens := 120
	for first := 0; first < searchSessions; first += searchSessionsPerTx {
		var (
			sessions = make([]searchSeedSession, 0, searchSessionsPerTx)
			owners   = make([]searchSeedParticipant, 0, searchSessionsPerTx)
			messages = make([]seedMessage, 0, searchSessionsPerTx*searchPerSession)
		)
		for k := first; k < first+searchSessionsPerTx; k++ {
			owner := out.users[k%searchUsers]
			at := t0.Add(time.Duration(k) * 40 * time.Minute)
			s := searchSeedSession{ID: uuid.Must(uuid.NewV7()).String(), UserID: owner,
				Title: vocab.sentence(rng, 2+rng.IntN(4), false), LLMProvider: "LOCAL", LLMModel: "llama3.2",
				MessageCount: searchPerSession, CreatedAt: at}
			var parent *string
			for j := range searchPerSession {
				at = at.Add(time.Minute)
				m := seedMessage{ID: uuid.Must(uuid.NewV7()).String(), SessionID: s.ID, UserID: owner,
					ParentID: parent, Role: "user", Content: vocab.sentence(rng, 6+rng.IntN(25), true),
					LLMProvider: "LOCAL", LLMModel: "llama3.2", Status: "completed", MessageMetadata: "{}",
					CreatedAt: at, UpdatedAt: at}
				if j%2 == 1 {
					m.Role, m.TokensUsed, m.MessageMetadata = "assistant", &tokens, `{"finish_reason":"stop"}`
					m.Content = vocab.sentence(rng, 25+rng.IntN(90), true)
				}
				messages = append(messages, m)
				parent = &messages[len(messages)-1].ID
			}
			s.LastMessageAt, s.UpdatedAt, s.CurrentMessageID = at, at, *parent
			sessions = append(sessions, s)
			owners = append(owners, searchSeedParticipant{SessionID: s.ID, UserID: owner, Role: "owner", CreatedAt: s.CreatedAt})
		}
		err := raw.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.NewInsert().Model(&sessions).Exec(ctx); err != nil {
				return err
			}
			if _, err := tx.NewInsert().Model(&owners).Exec(ctx); err != nil {
				return err
			}
			for chunk := range slices.Chunk(messages, searchRowsPerInsert) {
				if _, err := tx.NewInsert().Model(&chunk).Exec(ctx); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatalf("seed sessions %d..: %v", first, err)
		}
	}
	return out
}

// vocabulary makes English-ish text: words drawn with a Zipf distribution
// (a few very common words, a long tail of rare ones), real function and
// common words first, then made-up words built from syllables. It counts in
// how many texts each word occurs, to pick common and rare query words.
type vocabulary struct {
	words []string
	zipf  *rand.Zipf
	df    []int // texts holding the word
	texts int
	seen  []int // the text that last counted the word
}

// commonWords lead the ranking, most frequent first.
var commonWords = strings.Fields(`the of and to a in is you that it for on with as are this be
	was have or at not your from can but by if we an they more will one all which their there so what
	about when use would like time make my how some out just also other into than then them these
	could has only first may new any data file function value user code server error system example
	need way should work each because over most well number query database table index request
	response message session model string type list order page return result test change case
	point start problem question answer people water world place light sound night house party
	river garden market winter summer letter paper travel music money health family school city`)

// syllables make the rare words: made-up, pronounceable, and distinct from
// any common word.
var syllables = strings.Fields(`ka lo mi ren tor vi sel dan qua bri mo zel fa nu pet gor li sa ver
	dro tem bal cin hus jor wex plo yan`)

const vocabSize = 8000

func newVocabulary(rng *rand.Rand) *vocabulary {
	v := &vocabulary{}
	known := map[string]bool{}
	for _, w := range commonWords {
		if !known[w] {
			known[w] = true
			v.words = append(v.words, w)
		}
	}
	for len(v.words) < vocabSize {
		var w strings.Builder
		for range 2 + rng.IntN(3) {
			w.WriteString(syllables[rng.IntN(len(syllables))])
		}
		if !known[w.String()] {
			known[w.String()] = true
			v.words = append(v.words, w.String())
		}
	}
	v.zipf = rand.NewZipf(rng, 1.07, 2, uint64(len(v.words)-1))
	v.df = make([]int, len(v.words))
	v.seen = make([]int, len(v.words))
	return v
}

// sentence returns n words as text: capitalised sentences of 4 to 15 words
// when prose, else a bare phrase (a title). Only prose counts towards df.
func (v *vocabulary) sentence(rng *rand.Rand, n int, prose bool) string {
	var b strings.Builder
	if prose {
		v.texts++
	}
	left := 4 + rng.IntN(12)
	for i := range n {
		k := int(v.zipf.Uint64())
		w := v.words[k]
		if prose && v.seen[k] != v.texts {
			v.seen[k] = v.texts
			v.df[k]++
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		if prose && (i == 0 || left == 0) {
			if left == 0 {
				left = 4 + rng.IntN(12)
			}
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		} else {
			b.WriteString(w)
		}
		left--
		if prose && (left == 0 || i == n-1) {
			b.WriteByte('.')
		}
	}
	return b.String()
}

type searchMix struct {
	name    string
	queries []string
}

// queries builds searchQueriesPerMix queries per mix. Common words are in
// 2-25 % of all messages, rare ones in 100-2,000 (0.01-0.2 %); the last
// word of each query is typed part way (all but its last two letters,
// keeping at least three), so it matches as a prefix.
func (v *vocabulary) queries() []searchMix {
	var common, rare []string
	for k, w := range v.words {
		f := float64(v.df[k]) / float64(v.texts)
		switch {
		case f >= 0.02 && f <= 0.25:
			common = append(common, w)
		case v.df[k] >= 100 && v.df[k] <= 2000:
			rare = append(rare, w)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	pick := func(ws []string) string { return ws[rng.IntN(len(ws))] }
	typing := func(w string) string {
		if len(w) >= 5 {
			return w[:len(w)-2]
		}
		return w
	}
	mix := func(name string, a, b []string) searchMix {
		m := searchMix{name: name}
		for i := range searchQueriesPerMix {
			x, y := pick(a), pick(b)
			if i%2 == 1 {
				x, y = y, x
			}
			m.queries = append(m.queries, x+" "+typing(y))
		}
		return m
	}
	return []searchMix{
		mix("common+rare", common, rare),
		mix("rare+rare", rare, rare),
		mix("common+common", common, common),
	}
}
