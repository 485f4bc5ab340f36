package faults

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	// Registers the "sqlite" driver the integrity check uses.
	_ "modernc.org/sqlite"

	"github.com/chatd/chatd/test/harness"
)

// tinyFSSize is the tmpfs the database lives on: room for the schema and a
// few messages, filled up by the test.
const tinyFSSize = "2m"

// SQLite on a full disk: writes answer 503 (never 500), reads go on, writes
// work again once there is room, and the file is not corrupted.
func TestSQLiteDiskFull(t *testing.T) {
	dir := mountTinyFS(t)
	path := filepath.Join(dir, "chat.db")
	cfg := harness.DefaultConfig(t, harness.SQLite)
	cfg.DatabaseURL = "sqlite://" + path
	srv := harness.Start(t, cfg)
	c := srv.NewUser(t)
	sid := newSession(t, c, model())

	var acked []string // contents that got a 201, in order
	for i := range 3 {
		content := fmt.Sprintf("before the disk fills %d", i)
		post(t, c, sid, content, false)
		acked = append(acked, content)
	}

	// Fill the disk, then post until SQLite has no room left.
	filler := filepath.Join(dir, "filler")
	fillDisk(t, filler)
	pad := strings.Repeat("chatd keeps what it acknowledged. ", 100)
	refused := 0
	for i := 0; i < 200 && refused < 3; i++ {
		content := fmt.Sprintf("on a full disk %d: %s", i, pad)
		a := call(t, srv, c.Token, "POST", messagesPath(sid), map[string]any{"content": content, "process_llm": false}, 30*time.Second)
		switch {
		case a.Err == nil && a.Status == http.StatusCreated:
			acked = append(acked, content)
		case a.Err == nil && a.Status == http.StatusServiceUnavailable:
			if msg := problemError(a, http.StatusServiceUnavailable); msg != "" {
				t.Fatalf("POST on a full disk: %s", msg)
			}
			refused++
		default:
			t.Fatalf("POST on a full disk: %v, want 201 or 503", a)
		}
	}
	if refused == 0 {
		t.Fatal("200 posts of 3 KB on a full tmpfs all succeeded: the disk never filled")
	}
	t.Logf("%d posts acked on the full disk before writes failed", len(acked)-3)

	// Reads go on.
	for _, path := range []string{messagesPath(sid) + "?page_size=100", sessionsPath + "/" + sid, sessionsPath, "/api/v1/auth/me"} {
		if a := call(t, srv, c.Token, "GET", path, nil, 30*time.Second); a.Err != nil || a.Status != http.StatusOK {
			t.Errorf("GET %s on a full disk: %v, want 200", path, a)
		}
	}
	checkUserMessages(t, listMessages(t, c, sid), acked)

	// Room again: writes work at once, without a restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	var last answer
	if !until(10*time.Second, func() bool {
		content := "room again"
		last = call(t, srv, c.Token, "POST", messagesPath(sid), map[string]any{"content": content, "process_llm": false}, 30*time.Second)
		if last.Status == http.StatusCreated {
			acked = append(acked, content)
			return true
		}
		return false
	}) {
		t.Fatalf("writes did not work again once the disk had room: %v", last)
	}
	for i := range 3 {
		content := fmt.Sprintf("after the disk had room %d", i)
		post(t, c, sid, content, false)
		acked = append(acked, content)
	}
	checkUserMessages(t, listMessages(t, c, sid), acked)

	// The file is sound.
	srv.Stop(t)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var verdict string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&verdict); err != nil || verdict != "ok" {
		t.Fatalf("PRAGMA integrity_check = %q (%v), want ok", verdict, err)
	}
	var rows int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM chat_messages WHERE session_id = ?", sid).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != len(acked) {
		t.Fatalf("%d rows stored, %d posts acked", rows, len(acked))
	}
}

// checkUserMessages expects exactly the acked contents, in order.
func checkUserMessages(t *testing.T, ms []message, acked []string) {
	t.Helper()
	var got []string
	for _, m := range ms {
		if m.Role != "user" || m.Status != "completed" {
			t.Fatalf("unexpected message %v", m)
		}
		got = append(got, m.Content)
	}
	if len(got) != len(acked) {
		t.Fatalf("%d messages stored, %d acked", len(got), len(acked))
	}
	for i := range got {
		if got[i] != acked[i] {
			t.Fatalf("message %d is %.60q, want %.60q", i, got[i], acked[i])
		}
	}
}

// mountTinyFS mounts a tmpfs of tinyFSSize on a fresh folder, unmounted
// when the test ends (after the server stops: register it first). Without
// the right to mount, the test is skipped.
func mountTinyFS(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "chatd-faults-full-")
	if err != nil {
		t.Fatal(err)
	}
	mount, err := exec.LookPath("mount")
	if err != nil {
		_ = os.Remove(dir)
		t.Skip("no mount(8) here; the disk-full test needs a tiny tmpfs")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, mount, "-t", "tmpfs", "-o", "size="+tinyFSSize+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		_ = os.Remove(dir)
		t.Skipf("cannot mount a tmpfs (%v: %s): the disk-full test needs root or CAP_SYS_ADMIN", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		umount := func() error {
			out, err := exec.CommandContext(ctx, "umount", dir).CombinedOutput()
			if err != nil {
				return fmt.Errorf("%w: %s", err, out)
			}
			return nil
		}
		var err error
		if !until(10*time.Second, func() bool { err = umount(); return err == nil }) {
			t.Errorf("umount %s: %v", dir, err)
			return
		}
		_ = os.Remove(dir)
	})
	return dir
}

// fillDisk writes path until the file system is full.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	block := make([]byte, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill the disk: %v", err)
			}
			return
		}
	}
}
