// Package process tests the real chatd binary as a subprocess: signals,
// crashes, restarts on the same database, the command line and the logs.
// TestMain builds ./cmd/chatd once per run (without -race, whatever the test
// binary uses); each test starts it with its own environment, a free
// loopback port and a SQLite database in t.TempDir(), with llmsim running
// in-process as its upstream.
package process

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// chatdBin is the path of the binary built by TestMain.
var chatdBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "chatd-process-test-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "temp dir: %v\n", err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()

	chatdBin = filepath.Join(dir, "chatd")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", chatdBin, "github.com/chatd/chatd/cmd/chatd")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "build chatd: %v\n", err)
		return 1
	}
	code := m.Run()
	if code == 0 {
		// Every helper goroutine (stream readers, process waiters, the
		// upstream's handlers) must be gone once the tests are.
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines left after the tests: %v\n", err)
			return 1
		}
	}
	return code
}
