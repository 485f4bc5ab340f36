package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBurstAndRestAgainstARealChatd runs burst and both rest routes, small,
// against the real graph.
func TestBurstAndRestAgainstARealChatd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts chatd")
	}
	chatdURL, simURL := startChatd(t)
	summary := filepath.Join(t.TempDir(), "results.md")
	common := []string{"-chatd", chatdURL, "-llmsim", simURL, "-pid", fmt.Sprint(os.Getpid()), "-summary", summary, "-q", "-timeout", "60s"}
	for _, args := range [][]string{
		{"burst", "-n", "20", "-wait"},
		{"burst", "-label", "burst-201", "-n", "5", "-register-first"},
		{"rest", "-route", "messages", "-c", "4", "-d", "300ms", "-warmup", "100ms", "-users", "3", "-seed", "60"},
		{"rest", "-route", "sessions", "-c", "4", "-d", "300ms", "-warmup", "0s"},
	} {
		t.Run(strings.Join(args[:3], " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), append(args, common...), &stdout, &stderr); code != exitOK {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
			}
		})
	}
	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| burst | clients that registered, created a session and posted | 20 of 20 (0 failed) |",
		"| burst | replies completed with the expected text | 20 of 20 posted |",
		"| burst-201 | clients that created a session and posted (registered before) | 5 of 5 (0 failed) |",
		"| rest-messages | non-2xx answers | 0 |", "| rest-messages | requests per second |",
		"| rest-sessions | non-2xx answers | 0 |", "| rest-sessions | requests per second |",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("summary lacks %q:\n%s", want, b)
		}
	}
}

func TestFailureKindsAreTallied(t *testing.T) {
	tally := map[string]int{}
	tally[failureKind(&statusError{status: 503, body: `{"type":"urn:chatd:problem:request-timeout","status":503}`})]++
	tally[failureKind(&statusError{status: 503, body: `{"type":"urn:chatd:problem:request-timeout","status":503}`})]++
	tally[failureKind(&statusError{status: 502, body: `bad gateway`})]++
	tally[failureKind(errors.New("dial tcp: connection refused"))]++
	tally[failureKind(fmt.Errorf("register: %w", &url.Error{Op: "Post", URL: "http://x/api", Err: errors.New("EOF")}))]++
	got := describeFailures(tally)
	want := "5: 503 urn:chatd:problem:request-timeout x2; 502 (no problem body) x1; error: Post: EOF x1; error: dial tcp: connection refused x1"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if describeFailures(map[string]int{}) != "0" || describeCounts(0, nil, "") != "0" ||
		describeCounts(3, map[int]int{503: 2, 500: 1}, "") != "3 (500 x1, 503 x2)" {
		t.Fatal("empty or status tallies")
	}
}
