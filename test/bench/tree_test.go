package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/adapters/storage"
	"github.com/chatd/chatd/internal/adapters/storage/storagetest"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// The conversation tree's reads at size: the path up from a deep message
// (what a reply's context and branch=current walk), and pages of a large
// tree's current branch and of all its messages, through the repository
// and through the HTTP API. Each op is one call; p50-ms and p99-ms are the
// median and 99th percentile of single calls.

// The trees: a straight chain for the path up, and a tree whose current
// branch is treeMain deep with a side branch of forkLen messages every
// forkEvery messages (200 of 5: 5,000 messages in all).
const (
	deepChain = 1000
	treeMain  = 4000
	forkEvery = 20
	forkLen   = 5
	treeSize  = treeMain + treeMain/forkEvery*forkLen
	pageSize  = 50
	// seedChunk rows per INSERT: 13 columns each stays under SQLite's and
	// PostgreSQL's bound-parameter limits, though bun inlines them anyway.
	seedChunk = 500
)

func BenchmarkTreeSQLite(b *testing.B) {
	benchTree(b, "sqlite://"+filepath.Join(dataDir(b), "chat.db"))
}

func BenchmarkTreePostgres(b *testing.B) {
	benchTree(b, storagetest.FreshPostgresURL(b))
}

func benchTree(b *testing.B, dbURL string) {
	ctx := context.Background()
	r := newRigOn(b, dbURL)
	userID := r.userID
	deepSession, treeSession := r.session(b, "llama3.2"), r.session(b, "llama3.2")

	db, err := storage.Open(ctx, storage.Config{URL: dbURL}, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	messages := storage.NewMessageRepo(db)

	seed := openSeeder(b, dbURL)
	deep := seedTree(ctx, b, seed, deepSession, userID, deepChain, 0)
	tree := seedTree(ctx, b, seed, treeSession, userID, treeMain, forkEvery)
	if len(tree.all) != treeSize {
		b.Fatalf("seeded %d messages, want %d", len(tree.all), treeSize)
	}
	deepLeaf := deep.main[len(deep.main)-1]
	if !strings.HasPrefix(dbURL, "sqlite://") {
		// Autovacuum would gather statistics on so many new rows within a
		// minute; gather them now so that every run plans alike. SQLite
		// gets none: chatd never runs ANALYZE there.
		if _, err := seed.ExecContext(ctx, "ANALYZE chat_messages, chat_sessions"); err != nil {
			b.Fatal(err)
		}
	}

	// Check once, off the clock, that each op answers what it claims.
	chain, err := messages.Ancestors(ctx, deepLeaf, 0)
	if err != nil || !slices.Equal(messageIDs(chain), deep.main) {
		b.Fatalf("ancestors: %d messages, %v; want the %d-message chain", len(chain), err, deepChain)
	}
	lastPage := treeMain / pageSize
	for _, c := range []struct {
		q    ports.MessageQuery
		want []string
	}{
		{listQuery(domain.BranchCurrent, 1), tree.main[:pageSize]},
		{listQuery(domain.BranchCurrent, lastPage), tree.main[treeMain-pageSize:]},
		{listQuery(domain.BranchAll, 1), tree.all[:pageSize]},
		{listQuery(domain.BranchAll, treeSize/pageSize), tree.all[treeSize-pageSize:]},
	} {
		got, total, err := messages.List(ctx, treeSession, c.q)
		if err != nil || !slices.Equal(messageIDs(got), c.want) {
			b.Fatalf("list %+v: %v, %v; want %v", c.q, messageIDs(got), err, c.want)
		}
		if want := map[domain.Branch]int{domain.BranchCurrent: treeMain, domain.BranchAll: treeSize}[c.q.Branch]; total != want {
			b.Fatalf("list %+v: total %d, want %d", c.q, total, want)
		}
	}

	b.Run("Ancestors/depth=1000", func(b *testing.B) {
		timed(b, func() error { return wantLen(messages.Ancestors(ctx, deepLeaf, 0))(deepChain) })
	})
	// A reply's context: the newest max_context_messages of the path.
	b.Run("Ancestors/depth=1000/limit=50", func(b *testing.B) {
		timed(b, func() error { return wantLen(messages.Ancestors(ctx, deepLeaf, pageSize))(pageSize) })
	})
	for _, c := range []struct {
		name string
		q    ports.MessageQuery
	}{
		{"current/first-page", listQuery(domain.BranchCurrent, 1)},
		{"current/last-page", listQuery(domain.BranchCurrent, lastPage)},
		{"all/first-page", listQuery(domain.BranchAll, 1)},
		{"all/last-page", listQuery(domain.BranchAll, treeSize/pageSize)},
	} {
		b.Run("List/"+c.name, func(b *testing.B) {
			timed(b, func() error {
				ms, _, err := messages.List(ctx, treeSession, c.q)
				return wantLen(ms, err)(pageSize)
			})
		})
	}

	// sibling_ids of a page, which the API adds to every list: the first
	// page holds the root (siblings among the session's roots), the last
	// one does not.
	for _, c := range []struct {
		name string
		q    ports.MessageQuery
	}{
		{"current/first-page", listQuery(domain.BranchCurrent, 1)},
		{"current/last-page", listQuery(domain.BranchCurrent, lastPage)},
	} {
		page, _, err := messages.List(ctx, treeSession, c.q)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("SiblingIDs/"+c.name, func(b *testing.B) {
			timed(b, func() error {
				sib, err := messages.SiblingIDs(ctx, treeSession, page)
				if err == nil && len(sib) != len(page) {
					err = fmt.Errorf("siblings of %d messages, want %d", len(sib), len(page))
				}
				return err
			})
		})
	}

	// The same pages through chatd: authentication, the session check, the
	// list, sibling_ids for the page, JSON.
	for _, c := range []struct {
		name, query string
		want        []string
	}{
		{"current/first-page", "page=1", tree.main[:pageSize]},
		{"current/last-page", fmt.Sprintf("page=%d", lastPage), tree.main[treeMain-pageSize:]},
		{"all/first-page", "branch=all&page=1", tree.all[:pageSize]},
		{"all/last-page", fmt.Sprintf("branch=all&page=%d", treeSize/pageSize), tree.all[treeSize-pageSize:]},
	} {
		path := "/api/v1/chat/sessions/" + treeSession + "/messages?page_size=" + fmt.Sprint(pageSize) + "&" + c.query
		var body bytes.Buffer
		if err := r.get(path, &body); err != nil {
			b.Fatal(err)
		}
		var page struct {
			Messages []struct {
				ID         string   `json:"id"`
				SiblingIDs []string `json:"sibling_ids"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(body.Bytes(), &page); err != nil {
			b.Fatal(err)
		}
		got := make([]string, 0, len(page.Messages))
		forks := 0
		for _, m := range page.Messages {
			got = append(got, m.ID)
			if len(m.SiblingIDs) > 1 {
				forks++
			}
		}
		if !slices.Equal(got, c.want) || forks == 0 {
			b.Fatalf("GET %s: %v (%d with siblings); want %v, some with siblings", path, got, forks, c.want)
		}
		b.Run("HTTP/"+c.name, func(b *testing.B) {
			timed(b, func() error { return r.get(path, &body) })
		})
	}
}

func listQuery(branch domain.Branch, page int) ports.MessageQuery {
	return ports.MessageQuery{Branch: branch, Order: ports.OrderAsc, Page: ports.Page{Number: page, Size: pageSize}}
}

func messageIDs(ms []*domain.ChatMessage) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.ID())
	}
	return out
}

// wantLen checks a call's answer has n messages.
func wantLen(ms []*domain.ChatMessage, err error) func(n int) error {
	return func(n int) error {
		if err == nil && len(ms) != n {
			err = fmt.Errorf("got %d messages, want %d", len(ms), n)
		}
		return err
	}
}

// timed runs op b.N times and reports, beside the mean (ns/op), the
// median and 99th percentile of single calls in milliseconds.
func timed(b *testing.B, op func() error) {
	b.Helper()
	took := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(quantileMs(took, 0.50), "p50-ms")
	b.ReportMetric(quantileMs(took, 0.99), "p99-ms")
}

// quantileMs is the nearest-rank quantile q of sorted durations, in ms.
func quantileMs(sorted []time.Duration, q float64) float64 {
	i := max(int(math.Ceil(q*float64(len(sorted))))-1, 0)
	return float64(sorted[i]) / float64(time.Millisecond)
}

// get reads a whole answer into body; anything but 200 is an error.
func (r *rig) get(path string, body *bytes.Buffer) error {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, r.chatdURL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.token)
	resp, err := r.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body.Reset()
	if _, err := io.Copy(body, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, body.Bytes())
	}
	return nil
}

// seededTree is what seedTree wrote: the current branch root first, and
// every message in creation order.
type seededTree struct {
	main, all []string
}

// filler makes messages about as long as a chat turn (~400 bytes).
var filler = strings.Repeat("The quick brown fox jumps over the lazy dog. ", 9)

// seedTree writes, in one transaction, a chain of depth messages
// alternating user and assistant, and when every > 0 a side branch of
// forkLen messages under every every-th of them, written right after it (as
// an edit or a regeneration would be); then makes the chain's end the
// session's current message. Each message is one millisecond newer than
// the one written before it.
func seedTree(ctx context.Context, b *testing.B, raw *bun.DB, sessionID, userID string, depth, every int) seededTree {
	b.Helper()
	var out seededTree
	rows := make([]seedMessage, 0, depth+depth/max(every, 1)*forkLen)
	at := time.Now().UTC().Truncate(time.Millisecond).Add(-24 * time.Hour)
	add := func(parent *string, i int) *string {
		id := uuid.Must(uuid.NewV7()).String()
		at = at.Add(time.Millisecond)
		m := seedMessage{ID: id, SessionID: sessionID, UserID: userID, ParentID: parent, Role: "user",
			Content: fmt.Sprintf("%d %s", i, filler), LLMProvider: "LOCAL", LLMModel: "llama3.2", Status: "completed",
			MessageMetadata: "{}", CreatedAt: at, UpdatedAt: at}
		if i%2 == 1 {
			tokens := 90
			m.Role, m.TokensUsed, m.MessageMetadata = "assistant", &tokens, `{"finish_reason":"stop"}`
		}
		rows = append(rows, m)
		out.all = append(out.all, id)
		return &id
	}
	var parent *string
	for i := range depth {
		parent = add(parent, i)
		out.main = append(out.main, *parent)
		if every > 0 && i%every == every/2 {
			side := parent
			for j := range forkLen {
				side = add(side, i+1+j)
			}
		}
	}
	err := raw.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for chunk := range slices.Chunk(rows, seedChunk) {
			if _, err := tx.NewInsert().Model(&chunk).Exec(ctx); err != nil {
				return err
			}
		}
		_, err := tx.NewUpdate().Table("chat_sessions").
			Set("current_message_id = ?", *parent).Set("message_count = ?", len(rows)).
			Set("last_message_at = ?", at).Set("updated_at = ?", at).
			Where("id = ?", sessionID).Exec(ctx)
		return err
	})
	if err != nil {
		b.Fatalf("seed %d messages: %v", len(rows), err)
	}
	return out
}
