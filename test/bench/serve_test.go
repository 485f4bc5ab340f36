package bench

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/chatd/chatd/internal/adapters/bootstrap"
)

// TestServeChatdWithPprof is `chatd serve` plus net/http/pprof on a side
// port, for profiling chatd under chatload; pprof lives only in this test
// binary, never in the server. It is skipped unless CHATD_BENCH_SERVE=1 and
// reads chatd's settings from the environment like chatd does:
//
//	go test -c -o chatd-pprof ./test/bench
//	CHATD_BENCH_SERVE=1 CHATD_BENCH_PPROF=127.0.0.1:6060 CHAT_HTTP_ADDR=... \
//	  ./chatd-pprof -test.run '^TestServeChatdWithPprof$' -test.timeout 0
//
// It serves until SIGINT/SIGTERM or CHATD_BENCH_SERVE_FOR (a duration).
func TestServeChatdWithPprof(t *testing.T) {
	if os.Getenv("CHATD_BENCH_SERVE") != "1" {
		t.Skip("set CHATD_BENCH_SERVE=1 to serve chatd with pprof (scripts/bench.sh does, with BENCH_PROFILE=1)")
	}
	cfg, _, err := bootstrap.Load(nil, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.ResolveJWTSecret(); err != nil {
		t.Fatal(err)
	}
	log, err := bootstrap.NewLogger(cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = log.Sync() }()

	pprofAddr := os.Getenv("CHATD_BENCH_PPROF")
	if pprofAddr == "" {
		pprofAddr = "127.0.0.1:6060"
	}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", pprofAddr)
	if err != nil {
		t.Fatalf("pprof listen: %v", err)
	}
	runtime.SetMutexProfileFraction(100)
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	side := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := side.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("pprof: %v", err)
		}
	}()
	defer func() { _ = side.Close() }()

	app := fx.New(bootstrap.Options(cfg, log), fx.StartTimeout(time.Minute),
		fx.StopTimeout(cfg.ShutdownTimeout+10*time.Second))
	if err := app.Err(); err != nil {
		t.Fatal(err)
	}
	startCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := app.Start(startCtx); err != nil {
		t.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if d, err := time.ParseDuration(os.Getenv("CHATD_BENCH_SERVE_FOR")); err == nil && d > 0 {
		var c context.CancelFunc
		ctx, c = context.WithTimeout(ctx, d)
		defer c()
	}
	<-ctx.Done()
	stopCtx, cancelStop := context.WithTimeout(context.Background(), app.StopTimeout())
	defer cancelStop()
	if err := app.Stop(stopCtx); err != nil {
		t.Errorf("stop: %v", err)
	}
}
