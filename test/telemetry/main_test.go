// Package telemetry tests chatd's OpenTelemetry traces end to end: the real
// binary, built once by TestMain, exports its spans over OTLP/HTTP to a
// receiver in the test, while llmsim (scripted) stands in for the model
// server. The tests read the trace tree, the attributes, the traceparent
// header the upstream received and the process's JSON logs.
package telemetry

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

// chatdBin is the binary TestMain built.
var chatdBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "chatd-telemetry-test-")
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
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines left after the tests: %v\n", err)
			return 1
		}
	}
	return code
}
