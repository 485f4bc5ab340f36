package llmsim

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// ScriptFunc handles a completion request in place of the built-in behaviour.
type ScriptFunc func(req Request, w *StreamWriter)

// Summary describes one finished completion request, for logs.
type Summary struct {
	Model     string
	Stream    bool
	Status    int // 0 when the connection was hijacked before any answer
	Tokens    int // content chunks streamed; for a non-streaming answer, tokens generated
	Fault     Fault
	Scripted  bool
	Cancelled bool // the client went away before the response ended
	Duration  time.Duration
}

// Server is a simulated OpenAI-compatible model server. It is safe for
// concurrent use; the zero value is not usable, call New.
type Server struct {
	opts     Options
	handler  http.Handler
	script   atomic.Pointer[ScriptFunc]
	onFinish atomic.Pointer[func(Summary)]
	seq      atomic.Uint64
	rec      recorder

	stopCtx context.Context // cancelled by Close: releases stalled handlers
	stop    context.CancelFunc

	mu      sync.Mutex
	httpSrv *http.Server
	served  chan struct{}
}

// New returns a Server with these defaults.
func New(opts Options) *Server {
	s := &Server{opts: opts}
	s.stopCtx, s.stop = context.WithCancel(context.Background())
	s.rec.init()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.handleCompletions)
	mux.HandleFunc("GET /v1/models", handleModels)
	s.handler = mux
	return s
}

// Handler serves the /v1 routes.
func (s *Server) Handler() http.Handler { return s.handler }

// Script makes fn handle every completion request from now on (requests are
// still recorded); nil restores the built-in behaviour.
func (s *Server) Script(fn ScriptFunc) {
	if fn == nil {
		s.script.Store(nil)
		return
	}
	s.script.Store(&fn)
}

// OnFinish calls fn after each completion request, from the handler goroutine.
func (s *Server) OnFinish(fn func(Summary)) {
	if fn == nil {
		s.onFinish.Store(nil)
		return
	}
	s.onFinish.Store(&fn)
}

// Start serves on addr ("127.0.0.1:0" for any free port) in the background
// and returns the root URL, such as "http://127.0.0.1:43210" (the API is
// under /v1). Close stops it.
func (s *Server) Start(addr string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.httpSrv != nil {
		return "", errors.New("llmsim: already started")
	}
	if s.stopCtx.Err() != nil {
		return "", errors.New("llmsim: closed")
	}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", addr)
	if err != nil {
		return "", err
	}
	s.httpSrv = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.served = make(chan struct{})
	go func(srv *http.Server, done chan<- struct{}) {
		defer close(done)
		_ = srv.Serve(ln)
	}(s.httpSrv, s.served)
	return "http://" + ln.Addr().String(), nil
}

// Close releases every request in flight (a stall ends, a stream stops where
// it is) and, after Start, stops the listener and waits for it. Idempotent.
func (s *Server) Close() {
	s.stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.httpSrv != nil {
		_ = s.httpSrv.Close()
		<-s.served
		s.httpSrv = nil
	}
}
