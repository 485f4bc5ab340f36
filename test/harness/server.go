// Package harness starts a real chatd (the same fx graph as cmd/chatd, on a
// real socket and a real database) and drives it with a real HTTP client
// that checks every response against the published OpenAPI document.
package harness

import (
	"context"
	"testing"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/chatd/chatd/internal/adapters/auth"
	"github.com/chatd/chatd/internal/adapters/bootstrap"
	"github.com/chatd/chatd/internal/adapters/httpapi"
	"github.com/chatd/chatd/internal/adapters/storage/storagetest"
)

// Server is a running chatd.
type Server struct {
	URL    string
	Config bootstrap.Config
	app    *fx.App
	spec   *Spec
	http   *httpapi.Server
}

// Routes lists every route the server registered.
func (s *Server) Routes() []httpapi.Route { return s.http.Routes() }

// Dialect names a storage backend the tests run on.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// ForEachDialect runs fn once per database: SQLite always, PostgreSQL when
// CHAT_TEST_POSTGRES_URL is set (required when CHAT_TEST_REQUIRE_POSTGRES=1).
func ForEachDialect(t *testing.T, fn func(t *testing.T, d Dialect)) {
	for _, d := range []Dialect{SQLite, Postgres} {
		t.Run(string(d), func(t *testing.T) { fn(t, d) })
	}
}

// DefaultConfig is a test configuration: port 0, generous limits.
func DefaultConfig(t testing.TB, d Dialect) bootstrap.Config {
	t.Helper()
	cfg, _, err := bootstrap.Load(nil, func(string) string { return "" })
	if err != nil {
		t.Fatalf("default config: %v", err)
	}
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.JWTSecret = "test-secret-0123456789abcdef0123456789abcdef"
	cfg.RateLimitAPI = 0
	cfg.RateLimitAuth = 0
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.DrainDelay = 0
	if d == Postgres {
		cfg.DatabaseURL = storagetest.FreshPostgresURL(t)
	} else {
		cfg.DatabaseURL = storagetest.SQLiteURL(t)
	}
	return cfg
}

// Start runs chatd with cfg until the test ends. extra options may swap an
// adapter (fx.Decorate, fx.Replace).
func Start(t testing.TB, cfg bootstrap.Config, extra ...fx.Option) *Server {
	t.Helper()
	log := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	var srv *httpapi.Server
	opts := append([]fx.Option{
		bootstrap.Options(cfg, log),
		// Cheap password hashing: these tests are about the API, not argon2's cost.
		fx.Decorate(func(c auth.Config) auth.Config {
			c.Argon2 = auth.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
			return c
		}),
		fx.Populate(&srv),
	}, extra...)
	app := fx.New(opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatalf("start chatd: %v", err)
	}
	s := &Server{URL: "http://" + srv.Addr(), Config: cfg, app: app, spec: LoadSpec(t), http: srv}
	t.Cleanup(func() { s.Stop(t) })
	return s
}

// Stop drains and stops the server; calling it twice is harmless.
func (s *Server) Stop(t testing.TB) {
	if s.app == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.app.Stop(ctx); err != nil {
		t.Errorf("stop chatd: %v", err)
	}
	s.app = nil
}
