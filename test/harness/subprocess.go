package harness

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// The helpers of suites that run chatd as a subprocess.

// RunWithBinary is the TestMain of a suite that runs the real chatd binary
// as a subprocess: it builds ./cmd/chatd once into a temp dir, stores its
// path in *bin, runs the tests, and fails the run if any goroutine (stream
// readers, process waiters, upstream handlers) outlives them. The binary is
// built without -race whatever the test binary uses: the processes are the
// system under test, and several under the race detector on two cores would
// measure the machine rather than chatd. It returns the exit code.
func RunWithBinary(m *testing.M, suite string, bin *string) int {
	dir, err := os.MkdirTemp("", "chatd-"+suite+"-test-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "temp dir: %v\n", err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	*bin = filepath.Join(dir, "chatd")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", *bin, "github.com/chatd/chatd/cmd/chatd")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "build chatd: %v\n", err)
		return 1
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines left after the tests: %v\n", err)
			return 1
		}
	}
	return code
}

// FreeAddr returns a loopback address nothing listens on right now, for a
// subprocess to listen on.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// OutputBuffer collects a process's (or a logger's) output while it runs:
// a bytes.Buffer safe for concurrent writers.
type OutputBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *OutputBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *OutputBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// EnvRequireBrowser, set to 1 (CI), makes a missing browser or npm tool a
// failure instead of a skip.
const EnvRequireBrowser = "CHAT_TEST_REQUIRE_BROWSER"

// MissingBrowserTool skips the test with why, or fails it when
// EnvRequireBrowser is 1.
func MissingBrowserTool(t testing.TB, why string) {
	t.Helper()
	if os.Getenv(EnvRequireBrowser) == "1" {
		t.Fatal(why + ", and " + EnvRequireBrowser + "=1")
	}
	t.Skip(why)
}
