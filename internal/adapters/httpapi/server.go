package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/ports"
)

// serverState is shared by the server and the readiness probe.
type serverState struct {
	draining  atomic.Bool
	drainOnce sync.Once
	drain     chan struct{} // closed when the drain begins: long-lived streams end
}

func newServerState() *serverState { return &serverState{drain: make(chan struct{})} }

func (s *serverState) beginDrain() {
	s.draining.Store(true)
	s.drainOnce.Do(func() { close(s.drain) })
}

// Server is chatd's HTTP listener. It owns the socket: it opens it when the
// app starts and drains it when the app stops.
type Server struct {
	cfg    Config
	log    *zap.Logger
	engine *gin.Engine
	http   *http.Server
	state  *serverState
	addr   atomic.Value // the bound address, once listening
}

type serverParams struct {
	fx.In
	Config  Config
	Log     *zap.Logger
	State   *serverState
	Metrics *httpMetrics
	Tokens  ports.TokenIssuer
	Limiter ports.RateLimiter
	Clock   ports.Clock
	Routes  []Routes `group:"routes"`
}

// NewServer builds the gin engine with chatd's middleware and every route set.
func NewServer(p serverParams) *Server {
	gin.SetMode(gin.ReleaseMode)
	log := p.Log.Named("http")
	engine := gin.New()
	engine.HandleMethodNotAllowed = true
	// gin trusts X-Forwarded-For from anyone by default, which would let a
	// client pick its own address and dodge the per-address limits.
	if err := engine.SetTrustedProxies(p.Config.TrustedProxies); err != nil {
		log.Error("trusted proxies", zap.Error(err)) // validated at load; unreachable
	}
	engine.ContextWithFallback = true
	// The span comes first: everything after it, refusals included, is traced.
	engine.Use(traceRequests(), requestIDs(), securityHeaders(), accessLog(log), p.Metrics.middleware(), recoverPanics(log),
		writeProblems(log), cors(p.Config.CORSOrigins), limitBody(p.Config.MaxBodyBytes), requestDeadline(p.Config.RequestTimeout))
	engine.NoRoute(func(c *gin.Context) {
		writeProblem(c, newProblem(http.StatusNotFound, "no-such-route", "no route matches "+c.Request.URL.Path, nil))
	})
	engine.NoMethod(func(c *gin.Context) {
		writeProblem(c, newProblem(http.StatusMethodNotAllowed, "method-not-allowed",
			c.Request.Method+" is not allowed on "+c.Request.URL.Path, nil))
	})

	api := engine.Group("/api/v1")
	authed := api.Group("", authenticate(p.Tokens),
		rateLimit(p.Limiter, p.Clock, ports.Rate{PerMinute: p.Config.RateLimitAPI}, "api",
			func(c *gin.Context) string { return callerOf(c).UserID }))
	for _, r := range p.Routes {
		r.Mount(RouteGroups{Root: engine, Public: api, Authed: authed})
	}

	s := &Server{cfg: p.Config, log: log, engine: engine, state: p.State}
	s.http = &http.Server{
		Handler:           engine,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          zap.NewStdLog(log.Named("server")),
	}
	return s
}

// Addr is the address the server listens on (useful with port 0).
func (s *Server) Addr() string {
	if a, ok := s.addr.Load().(string); ok {
		return a
	}
	return ""
}

// Start binds the socket synchronously, so a taken port fails the start, and
// serves in the background.
func (s *Server) Start(ctx context.Context) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	s.addr.Store(ln.Addr().String())
	s.log.Info("listening", zap.String("addr", ln.Addr().String()))
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve failed", zap.Error(err))
		}
	}()
	return nil
}

// Stop drains: readiness answers 503 at once, and for DrainDelay the server
// keeps serving so load balancers see it and move traffic away; then
// long-lived streams end, the listener closes, and requests in flight finish
// within ctx.
func (s *Server) Stop(ctx context.Context) error {
	s.state.draining.Store(true)
	if d := s.cfg.DrainDelay; d > 0 {
		wait := time.NewTimer(d)
		select {
		case <-wait.C:
		case <-ctx.Done():
		}
		wait.Stop()
	}
	s.state.beginDrain()
	if err := s.http.Shutdown(ctx); err != nil {
		return fmt.Errorf("shut down http: %w", err)
	}
	return nil
}

// Route is one registered method and path template.
type Route struct {
	Method string
	Path   string
}

// Routes lists every registered route, so tests can walk all of them.
func (s *Server) Routes() []Route {
	infos := s.engine.Routes()
	out := make([]Route, 0, len(infos))
	for _, r := range infos {
		out = append(out, Route{Method: r.Method, Path: r.Path})
	}
	return out
}
