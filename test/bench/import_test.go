package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/adapters/storage"
	"github.com/chatd/chatd/internal/adapters/system"
	"github.com/chatd/chatd/internal/adapters/transfer"
	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
)

// Import at size: a ChatGPT conversations.json of importConversations
// conversations of importNodes messages each (10,000 in all), each with a
// side branch of importBranchLen messages every importBranchEvery messages
// of its main line, decoded by the transfer package and stored by
// app.ImportSessions through storage.ImportRepo on SQLite: what
// POST /api/v1/chat/import does, less HTTP. One op is one whole import by a
// fresh user. Beside s/import it reports the Go heap's peak growth during
// the import (HeapInuse sampled every millisecond, above its level after a
// GC just before) and what the import allocated in all. The SQLite driver
// keeps its page cache outside the Go heap, so the peak resident size of
// the whole process is measured too, in a child process doing one import
// (the benchmark binary re-run as TestImportPeakRSSChild): peak-rss-MB is
// its VmHWM, rss-before-MB its VmRSS just before the import.
//
// Targets: <= 3 s per import on SQLite, < 100 MB of memory.

const (
	importConversations = 20
	importNodes         = 500
	importBranchEvery   = 45
	importBranchLen     = 5
	importMessages      = importConversations * importNodes

	envImportChildFile = "CHATD_BENCH_IMPORT_FILE"
	envImportChildDB   = "CHATD_BENCH_IMPORT_DB"
	importChildPrefix  = "import-child:"
)

func BenchmarkImportChatGPT(b *testing.B) {
	ctx := context.Background()
	file := chatGPTExport(rand.New(rand.NewPCG(5, 6)))
	b.Logf("conversations.json: %d conversations, %d messages, %.1f MB", importConversations, importMessages,
		float64(len(file))/(1<<20))
	dir := dataDir(b)
	dbURL := "sqlite://" + filepath.Join(dir, "chat.db")
	imports := openImport(ctx, b, dbURL)

	var heapPeak, allocated uint64
	var took time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		caller := importUser(ctx, b, imports.db, i)
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		stop := sampleHeapInuse()
		b.StartTimer()
		t0 := time.Now()
		n, err := importOnce(ctx, imports.sessions, caller, bytes.NewReader(file))
		took += time.Since(t0)
		b.StopTimer()
		peak := stop()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if err != nil {
			b.Fatal(err)
		}
		if n != importMessages {
			b.Fatalf("imported %d messages, want %d", n, importMessages)
		}
		heapPeak = max(heapPeak, peak-min(peak, before.HeapInuse))
		allocated += after.TotalAlloc - before.TotalAlloc
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(took.Seconds()/float64(b.N), "s/import")
	b.ReportMetric(float64(heapPeak)/(1<<20), "peak-heap-growth-MB")
	b.ReportMetric(float64(allocated)/float64(b.N)/(1<<20), "alloc-MB/import")

	path := filepath.Join(dir, "conversations.json")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		b.Fatal(err)
	}
	before, peak, childTook := importInChild(b, path, "sqlite://"+filepath.Join(dir, "child.db"))
	b.ReportMetric(float64(peak)/(1<<20), "peak-rss-MB")
	b.ReportMetric(float64(before)/(1<<20), "rss-before-MB")
	b.Logf("child process: VmRSS %.1f MB before the import, VmHWM %.1f MB after; the import took %s",
		float64(before)/(1<<20), float64(peak)/(1<<20), childTook)
}

type importRig struct {
	db       *storage.DB
	sessions *app.ImportSessions
}

// openImport opens and migrates the database and builds the use case as
// the app module does.
func openImport(ctx context.Context, tb testing.TB, dbURL string) importRig {
	tb.Helper()
	db, err := storage.Open(ctx, storage.Config{URL: dbURL}, zap.NewNop())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return importRig{db: db, sessions: app.NewImportSessions(storage.NewImportRepo(db), system.NewIDs(), system.NewClock(),
		app.Limits{MaxMessageChars: 32000})}
}

func importUser(ctx context.Context, tb testing.TB, db *storage.DB, i int) app.Caller {
	tb.Helper()
	u, err := domain.NewUser(system.NewIDs().NewID(), fmt.Sprintf("import-%d-%d@example.com", time.Now().UnixNano(), i),
		"Importer", "x", domain.UserRoleUser, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	if err := storage.NewUserRepo(db).Create(ctx, u); err != nil {
		tb.Fatal(err)
	}
	return app.Caller{UserID: u.ID(), Role: domain.UserRoleUser}
}

// importOnce is the import route's work: decode the body as it streams in,
// then store it. It returns how many messages were stored.
func importOnce(ctx context.Context, imports *app.ImportSessions, caller app.Caller, body interface {
	Read([]byte) (int, error)
},
) (int, error) {
	conversations, err := transfer.Decode(body)
	if err != nil {
		return 0, err
	}
	res, err := imports.Handle(ctx, caller, app.ImportSessionsCmd{Provider: domain.ProviderLocal, Model: "llama3.2",
		Conversations: conversations, RequestHash: "bench"})
	if err != nil {
		return 0, err
	}
	if len(res.Skipped) > 0 {
		return 0, fmt.Errorf("skipped %d conversations: %+v", len(res.Skipped), res.Skipped[0])
	}
	n := 0
	for _, s := range res.Sessions {
		n += s.MessageCount
	}
	return n, nil
}

// sampleHeapInuse samples HeapInuse every millisecond until the returned
// function is called, which answers the highest value seen.
func sampleHeapInuse() func() uint64 {
	var (
		peak uint64
		wg   sync.WaitGroup
		done = make(chan struct{})
	)
	wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// importInChild runs one import in a fresh process (this test binary, as
// TestImportPeakRSSChild) and returns its VmRSS before the import, its
// VmHWM after it and how long the import took.
func importInChild(b *testing.B, file, dbURL string) (before, peak uint64, took time.Duration) {
	b.Helper()
	cmd := exec.CommandContext(context.Background(), os.Args[0],
		"-test.run=^TestImportPeakRSSChild$", "-test.bench=^$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), envImportChildFile+"="+file, envImportChildDB+"="+dbURL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("child import: %v\n%s", err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		rest, ok := strings.CutPrefix(line, importChildPrefix)
		if !ok {
			continue
		}
		var ns int64
		if _, err := fmt.Sscanf(rest, "%d %d %d", &before, &peak, &ns); err != nil {
			b.Fatalf("child import: %q: %v", line, err)
		}
		return before, peak, time.Duration(ns)
	}
	b.Fatalf("child import printed no result:\n%s", out)
	return 0, 0, 0
}

// TestImportPeakRSSChild is BenchmarkImportChatGPT's child process; run
// alone it skips.
func TestImportPeakRSSChild(t *testing.T) {
	file, dbURL := os.Getenv(envImportChildFile), os.Getenv(envImportChildDB)
	if file == "" || dbURL == "" {
		t.Skip("BenchmarkImportChatGPT runs it in a child process")
	}
	ctx := context.Background()
	imports := openImport(ctx, t, dbURL)
	caller := importUser(ctx, t, imports.db, 0)
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	runtime.GC()
	before := procStatus(t, "VmRSS")
	t0 := time.Now()
	n, err := importOnce(ctx, imports.sessions, caller, bufio.NewReaderSize(f, 64<<10))
	took := time.Since(t0)
	if err != nil {
		t.Fatal(err)
	}
	if n != importMessages {
		t.Fatalf("imported %d messages, want %d", n, importMessages)
	}
	fmt.Printf("%s%d %d %d\n", importChildPrefix, before, procStatus(t, "VmHWM"), took.Nanoseconds())
}

// procStatus reads a size field of /proc/self/status, in bytes.
func procStatus(t *testing.T, field string) uint64 {
	t.Helper()
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(raw)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// gptNode is one entry of a ChatGPT conversation's mapping.
type gptNode struct {
	ID       string      `json:"id"`
	Message  *gptMessage `json:"message"`
	Parent   *string     `json:"parent"`
	Children []string    `json:"children"`
}

type gptMessage struct {
	ID         string  `json:"id"`
	Author     gptRole `json:"author"`
	CreateTime float64 `json:"create_time"`
	Content    struct {
		ContentType string   `json:"content_type"`
		Parts       []string `json:"parts"`
	} `json:"content"`
	Status   string         `json:"status"`
	Metadata map[string]any `json:"metadata"`
}

type gptRole struct {
	Role string `json:"role"`
}

// chatGPTExport writes conversations.json: each conversation a null root,
// a main line of user and assistant turns, and side branches (an edited
// question, or a regenerated answer, with what followed it) hanging off
// every importBranchEvery-th message; current_node is the main line's end.
func chatGPTExport(rng *rand.Rand) []byte {
	vocab := newVocabulary(rng)
	var buf bytes.Buffer
	buf.WriteString("[")
	t0 := float64(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC).Unix())
	for c := range importConversations {
		var nodes []*gptNode
		byID := map[string]*gptNode{}
		at := t0 + float64(c)*86400
		add := func(parent string, role string) string {
			id := fmt.Sprintf("c%d-n%d", c, len(nodes))
			n := &gptNode{ID: id, Children: []string{}}
			if parent != "" {
				p := parent
				n.Parent = &p
				byID[parent].Children = append(byID[parent].Children, id)
			}
			if role != "" {
				at += 30 + rng.Float64()*60
				m := &gptMessage{ID: id, Author: gptRole{role}, CreateTime: at, Status: "finished_successfully",
					Metadata: map[string]any{}}
				m.Content.ContentType = "text"
				words := 8 + rng.IntN(35)
				if role == "assistant" {
					words = 40 + rng.IntN(160)
					m.Metadata["model_slug"] = "gpt-4o"
				}
				m.Content.Parts = []string{vocab.sentence(rng, words, true)}
				n.Message = m
			}
			nodes = append(nodes, n)
			byID[id] = n
			return id
		}
		role := func(i int) string { return [2]string{"user", "assistant"}[i%2] }
		root := add("", "")
		mainLen := importNodes - importNodes/importBranchEvery*importBranchLen
		prev, current := root, ""
		for i := range mainLen {
			current = add(prev, role(i))
			if i%importBranchEvery == importBranchEvery-1 && len(nodes)-1+importBranchLen <= importNodes {
				// The side branch is an alternative to this message: a
				// sibling under the same parent, and what followed it.
				side := prev
				for j := range importBranchLen {
					side = add(side, role(i+j))
				}
			}
			prev = current
		}
		for len(nodes)-1 < importNodes { // top up to exactly importNodes messages
			prev = add(prev, role(len(nodes)))
			current = prev
		}
		if c > 0 {
			buf.WriteString(",")
		}
		title := vocab.sentence(rng, 3+rng.IntN(4), false)
		fmt.Fprintf(&buf, `{"title":%q,"create_time":%f,"update_time":%f,"current_node":%q,"conversation_id":"conv-%d","mapping":{`,
			title, t0+float64(c)*86400, at, current, c)
		for i, n := range nodes {
			if i > 0 {
				buf.WriteString(",")
			}
			raw, _ := json.Marshal(n)
			fmt.Fprintf(&buf, "%q:%s", n.ID, raw)
		}
		buf.WriteString("}}")
	}
	buf.WriteString("]")
	return buf.Bytes()
}
