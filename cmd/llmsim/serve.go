package main

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/chatd/chatd/internal/llmsim"
)

// serve listens on addr and serves, in the background, the simulator's /v1
// API with Ollama's /api/show beside it. It returns the root URL and stop,
// which ends the replies in flight, closes the server and waits for it.
func serve(ctx context.Context, sim *llmsim.Server, addr string) (url string, stop func(), err error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return "", nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/show", handleShow)
	mux.Handle("/", sim.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln) // ends with http.ErrServerClosed when stopped
	}()
	return "http://" + ln.Addr().String(), func() {
		sim.Close() // releases replies in flight first, so none holds the server up
		_ = srv.Close()
		<-served
	}, nil
}
