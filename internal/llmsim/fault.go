package llmsim

import (
	"fmt"
	"strconv"
	"strings"
)

// Fault is a failure the simulator injects; see the package documentation.
// Besides the constants, any HTTP status from 400 to 599 written as three
// digits (for example Fault("502")) is a pre-stream error with that status.
type Fault string

// The faults.
const (
	FaultNone       Fault = ""
	Fault500        Fault = "500"         // HTTP 500 JSON error before streaming
	Fault429        Fault = "429"         // HTTP 429 with Retry-After: 1
	Fault503        Fault = "503"         // HTTP 503 with Retry-After: 1
	FaultErrorChunk Fault = "error-chunk" // OpenRouter-style error chunk mid-stream, finish_reason "error"
	FaultEOF        Fault = "eof"         // clean end of body without finish_reason and [DONE]
	FaultStall      Fault = "stall"       // stop sending; hold the connection until the client leaves
	FaultReset      Fault = "reset"       // TCP reset mid-stream
)

// ParseFault accepts the names of the constants, "none", and any 4xx/5xx status.
func ParseFault(s string) (Fault, error) {
	f := Fault(strings.ToLower(strings.TrimSpace(s)))
	switch f {
	case "none":
		return FaultNone, nil
	case FaultNone, FaultErrorChunk, FaultEOF, FaultStall, FaultReset:
		return f, nil
	}
	if _, ok := f.status(); ok {
		return f, nil
	}
	return "", fmt.Errorf("unknown fault %q: want a 4xx/5xx status, error-chunk, eof, stall, reset or none", s)
}

// status is the HTTP status of a pre-stream fault.
func (f Fault) status() (int, bool) {
	if len(f) != 3 {
		return 0, false
	}
	n, err := strconv.Atoi(string(f))
	if err != nil || n < 400 || n > 599 {
		return 0, false
	}
	return n, true
}

// midStream reports whether the fault happens after streaming began.
func (f Fault) midStream() bool {
	switch f {
	case FaultErrorChunk, FaultEOF, FaultStall, FaultReset:
		return true
	}
	return false
}
