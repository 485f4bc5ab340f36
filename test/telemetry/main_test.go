// Package telemetry tests chatd's OpenTelemetry traces end to end: the real
// binary, built once by TestMain, exports its spans over OTLP/HTTP to a
// receiver in the test, while llmsim (scripted) stands in for the model
// server. The tests read the trace tree, the attributes, the traceparent
// header the upstream received and the process's JSON logs.
package telemetry

import (
	"os"
	"testing"

	"github.com/chatd/chatd/test/harness"
)

// chatdBin is the binary TestMain built.
var chatdBin string

func TestMain(m *testing.M) {
	os.Exit(harness.RunWithBinary(m, "telemetry", &chatdBin))
}
