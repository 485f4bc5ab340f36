// Package process tests the real chatd binary as a subprocess: signals,
// crashes, restarts on the same database, the command line and the logs.
// TestMain builds ./cmd/chatd once per run (without -race, whatever the test
// binary uses); each test starts it with its own environment, a free
// loopback port and a SQLite database in t.TempDir(), with llmsim running
// in-process as its upstream.
package process

import (
	"os"
	"testing"

	"github.com/chatd/chatd/test/harness"
)

// chatdBin is the path of the binary built by TestMain.
var chatdBin string

func TestMain(m *testing.M) {
	os.Exit(harness.RunWithBinary(m, "process", &chatdBin))
}
