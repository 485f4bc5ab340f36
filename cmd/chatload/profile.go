package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// profiler fetches pprof profiles of the server during a scenario's
// measured phase, from a chatd build that serves net/http/pprof (the
// test/bench serve test; chatd itself has no pprof).
type profiler struct {
	url     string
	dir     string
	seconds int
	trace   int
	client  *http.Client
	wg      sync.WaitGroup
	mu      sync.Mutex
	errs    []error
}

func (p *profiler) register(fs *flag.FlagSet) {
	fs.StringVar(&p.url, "pprof", "", "pprof base URL of the server (e.g. http://127.0.0.1:6060): take CPU and heap profiles of the measured phase")
	fs.StringVar(&p.dir, "pprof-dir", ".", "directory for the profiles (<scenario>-cpu.pprof, <scenario>-heap.pprof)")
	fs.IntVar(&p.seconds, "pprof-seconds", 10, "length of the CPU profile, from the start of the measured phase")
	fs.IntVar(&p.trace, "pprof-trace", 0, "also take an execution trace of this many seconds from the start of the phase (go tool trace -pprof=sched)")
}

func (p *profiler) on() bool { return p.url != "" }

// cpu starts a CPU profile (and, when asked, an execution trace) in the
// background; done waits for them.
func (p *profiler) cpu(name string) {
	if !p.on() {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(p.seconds+30)*time.Second)
		defer cancel()
		p.fetch(ctx, fmt.Sprintf("/debug/pprof/profile?seconds=%d", p.seconds), name+"-cpu.pprof")
	}()
	if p.trace > 0 {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(p.trace+30)*time.Second)
			defer cancel()
			p.fetch(ctx, fmt.Sprintf("/debug/pprof/trace?seconds=%d", p.trace), name+"-trace.out")
		}()
	}
}

// heap takes a heap profile now (in-use and allocated since the start).
func (p *profiler) heap(name string) {
	if !p.on() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p.fetch(ctx, "/debug/pprof/heap", name+"-heap.pprof")
}

// done waits for profiles in flight and reports failures.
func (p *profiler) done(w io.Writer) {
	p.wg.Wait()
	for _, err := range p.errs {
		fmt.Fprintf(w, "chatload: profile: %v\n", err)
	}
}

func (p *profiler) fetch(ctx context.Context, path, file string) {
	err := func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+path, nil)
		if err != nil {
			return err
		}
		resp, err := p.client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %d", path, resp.StatusCode)
		}
		f, err := os.Create(filepath.Join(p.dir, file))
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, resp.Body); err != nil {
			_ = f.Close()
			return err
		}
		return f.Close()
	}()
	if err != nil {
		p.mu.Lock()
		p.errs = append(p.errs, fmt.Errorf("%s: %w", file, err))
		p.mu.Unlock()
	}
}
