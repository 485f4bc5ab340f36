// Package cluster tests chatd running as several processes that share one
// PostgreSQL database and one Redis broker (CHAT_BROKER_URL): the contract's
// "Additions for running several processes". Each test starts its own
// redis-server on a spare port, a fresh PostgreSQL database, one scripted
// upstream (llmsim, with a front per process so a test can tell which
// process called it) and three `chatd serve` processes A, B and C built from
// ./cmd/chatd once per run. Clients talk to any process over real HTTP and
// WebSockets, as behind a load balancer.
//
// The suite needs redis-server and CHAT_TEST_POSTGRES_URL; without them it
// skips, unless CHAT_TEST_REQUIRE_REDIS=1 or CHAT_TEST_REQUIRE_POSTGRES=1
// (CI) turn the skip into a failure.
package cluster

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/adapters/storage/storagetest"
	"github.com/chatd/chatd/test/harness"
)

// Environment variables that turn a missing prerequisite into a failure.
const (
	envRequireRedis    = "CHAT_TEST_REQUIRE_REDIS"
	envRequirePostgres = storagetest.EnvRequirePostgres
	envPostgresURL     = storagetest.EnvPostgresURL
)

var (
	// chatdBin is the binary TestMain built; empty when the suite cannot run.
	chatdBin string
	// redisServerBin is the redis-server the tests start; empty when missing.
	redisServerBin string
	// missing says what this machine lacks for the suite, one line each.
	missing []prerequisite
)

// prerequisite is something the suite cannot run without.
type prerequisite struct {
	what     string
	required bool // its CHAT_TEST_REQUIRE_* variable is 1: a failure, not a skip
}

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	missing = findMissing()
	if len(missing) > 0 {
		// Nothing to build: every test skips (or fails) with the reason.
		return m.Run()
	}
	return harness.RunWithBinary(m, "cluster", &chatdBin)
}

// findMissing looks for redis-server and a PostgreSQL server to use.
func findMissing() []prerequisite {
	var out []prerequisite
	if path, err := exec.LookPath("redis-server"); err == nil {
		redisServerBin = path
	} else if _, err := os.Stat("/usr/bin/redis-server"); err == nil {
		redisServerBin = "/usr/bin/redis-server"
	} else {
		out = append(out, prerequisite{
			what:     "redis-server is not installed (Debian package redis-server)",
			required: os.Getenv(envRequireRedis) == "1",
		})
	}
	if os.Getenv(envPostgresURL) == "" {
		out = append(out, prerequisite{
			what:     envPostgresURL + " is not set (a PostgreSQL server where tests may create databases)",
			required: os.Getenv(envRequirePostgres) == "1",
		})
	}
	return out
}

// requireCluster skips the test when the machine cannot run the suite, or
// fails it when a CHAT_TEST_REQUIRE_* variable says the prerequisite must be
// there.
func requireCluster(t *testing.T) {
	t.Helper()
	if len(missing) == 0 {
		return
	}
	var whats []string
	required := false
	for _, p := range missing {
		whats = append(whats, p.what)
		required = required || p.required
	}
	if required {
		t.Fatalf("the multi-process suite cannot run, and %s/%s say it must: %s",
			envRequireRedis, envRequirePostgres, strings.Join(whats, "; "))
	}
	t.Skipf("skipping the multi-process suite: %s (set %s=1 or %s=1 to make this a failure)",
		strings.Join(whats, "; "), envRequireRedis, envRequirePostgres)
}
