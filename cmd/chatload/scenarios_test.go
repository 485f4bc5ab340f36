package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/adapters/auth"
	"github.com/chatd/chatd/internal/adapters/bootstrap"
	"github.com/chatd/chatd/internal/adapters/httpapi"
	"github.com/chatd/chatd/internal/llmsim"
)

// startChatd runs the real chatd graph on loopback against an in-process
// llmsim, and returns both root URLs.
func startChatd(t *testing.T) (chatdURL, simURL string) {
	t.Helper()
	sim := llmsim.New(llmsim.Options{DisableRecording: true})
	simURL, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	cfg, _, err := bootstrap.Load(nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.DatabaseURL = "sqlite://" + filepath.Join(t.TempDir(), "chat.db")
	cfg.JWTSecret = "chatload-test-secret-0123456789abcdef0123456789"
	cfg.LocalBaseURL = simURL + "/v1"
	cfg.RateLimitAPI, cfg.RateLimitLLM, cfg.RateLimitAuth = 0, 0, 0
	cfg.MaxConcurrentGenerations = 1000
	cfg.ShutdownTimeout = 5 * time.Second
	var srv *httpapi.Server
	app := fx.New(bootstrap.Options(cfg, zap.NewNop()), fx.NopLogger, fx.Populate(&srv),
		fx.Decorate(func(c auth.Config) auth.Config {
			c.Argon2 = auth.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
			return c
		}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = app.Stop(ctx)
	})
	return "http://" + srv.Addr(), simURL
}

// TestScenariosRunAgainstARealChatd runs every scenario, small, against the
// real graph and expects each to pass its zero-loss checks and report.
func TestScenariosRunAgainstARealChatd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts chatd and runs every scenario")
	}
	chatdURL, simURL := startChatd(t)
	summary := filepath.Join(t.TempDir(), "results.md")
	common := []string{"-chatd", chatdURL, "-llmsim", simURL, "-pid", fmt.Sprint(os.Getpid()), "-summary", summary,
		"-q", "-timeout", "60s"}
	runs := [][]string{
		{"first-delta", "-n", "6", "-warmup", "1", "-c", "2", "-ttft", "5ms"},
		{"streams", "-n", "20", "-users", "2", "-tokens", "10", "-tps", "200", "-ttft", "5ms"},
		{"idle-sockets", "-n", "30", "-sessions", "3", "-settle", "100ms"},
		{"fanout", "-subs", "5", "-tokens", "100"},
		{"fanout-latency", "-subs", "5", "-n", "5", "-warmup", "1"},
	}
	for _, args := range runs {
		t.Run(args[0], func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append(args, common...), &stdout, &stderr)
			if code != exitOK {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), "== "+args[0]) {
				t.Fatalf("no results table:\n%s", stdout.String())
			}
		})
	}
	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| first-delta | chatd - direct, p50 |", "| streams | replies whole, in order, completed | 20 of 20 |",
		"| idle-sockets | RSS per idle socket |", "| fanout | subscribers with the exact text, in order | 5 of 5 |",
		"| fanout-latency | posts seen whole by every subscriber | 6 of 6 |"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("summary lacks %q:\n%s", want, b)
		}
	}
}

func TestUsageAndUnknownScenario(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &out, &errOut); code != exitOK || !strings.Contains(out.String(), "fanout-latency") {
		t.Fatalf("help: %d %s", code, out.String())
	}
	if code := run(context.Background(), []string{"nope"}, &out, &errOut); code != exitUsage {
		t.Fatalf("unknown scenario: %d", code)
	}
	if code := run(context.Background(), []string{"fanout", "-subs", "0"}, &out, &errOut); code != exitUsage {
		t.Fatalf("bad flag value: %d", code)
	}
}
