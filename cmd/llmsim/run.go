package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/chatd/chatd/internal/llmsim"
)

var errUsage = errors.New("usage")

const usageHead = `llmsim: a simulated OpenAI-compatible model server for demos, tests and benchmarks.

Usage: llmsim [flags]

A request's model may override the flags: "sim-small+tokens=5+fault=eof+ttft=0+tps=0".
Directives: tokens, ttft, tps, fault, stall_after, reasoning, reasoning_field, keepalive.
Faults: 500, 429, 503 (any 4xx/5xx), error-chunk, eof, stall, reset.

Flags:
`

// run serves until ctx is done. ready, when set, receives the root URL once
// the listener is up.
func run(ctx context.Context, args []string, stderr io.Writer, ready func(url string)) error {
	opts, addr, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	sim := llmsim.New(opts)
	sim.OnFinish(func(s llmsim.Summary) {
		log.Info("completion",
			"model", s.Model, "stream", s.Stream, "status", s.Status, "tokens", s.Tokens,
			"duration", s.Duration.Round(time.Millisecond), "fault", string(s.Fault), "cancelled", s.Cancelled)
	})
	url, stopServing, err := serve(ctx, sim, addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("llmsim listening", "base_url", url+"/v1",
		"ttft", opts.TimeToFirstToken, "tps", opts.TokensPerSecond, "tokens", opts.ReplyTokens, "fault", string(opts.Fault))
	if ready != nil {
		ready(url)
	}
	<-ctx.Done()
	stopServing()
	log.Info("llmsim stopped")
	return nil
}

func parseFlags(args []string, stderr io.Writer) (llmsim.Options, string, error) {
	fs := flag.NewFlagSet("llmsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "127.0.0.1:11434", "listen address (chatd's LOCAL default base URL is http://127.0.0.1:11434/v1)")
	ttft := fs.Duration("ttft", 300*time.Millisecond, "time to first token")
	tps := fs.Float64("tps", 30, "tokens per second (0 = as fast as possible)")
	tokens := fs.Int("tokens", 60, "reply length in tokens")
	fault := fs.String("fault", "", "fault to inject in every reply: 500, 429, 503, error-chunk, eof, stall, reset")
	stallAfter := fs.Int("stall-after", 0, "tokens before a mid-stream fault (0 = half the reply)")
	reasoning := fs.Bool("reasoning", false, "send delta.reasoning chunks before the content")
	keepAlive := fs.Duration("keepalive", 0, "interval of ': OPENROUTER PROCESSING' comments before the first token (0 = none)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return llmsim.Options{}, "", err
		}
		return llmsim.Options{}, "", errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "llmsim: unexpected argument %q\n", fs.Arg(0))
		return llmsim.Options{}, "", errUsage
	}
	f, err := llmsim.ParseFault(*fault)
	if err != nil {
		fmt.Fprintln(stderr, "llmsim:", err)
		return llmsim.Options{}, "", errUsage
	}
	if *tokens < 0 || *stallAfter < 0 || *tps < 0 || *ttft < 0 || *keepAlive < 0 {
		fmt.Fprintln(stderr, "llmsim: --tokens, --stall-after, --tps, --ttft and --keepalive must not be negative")
		return llmsim.Options{}, "", errUsage
	}
	opts := llmsim.Options{
		TimeToFirstToken: *ttft,
		TokensPerSecond:  *tps,
		ReplyTokens:      *tokens,
		Fault:            f,
		StallAfter:       *stallAfter,
		Reasoning:        *reasoning,
		KeepAlive:        *keepAlive,
		DisableRecording: true,
	}
	if *tokens == 0 {
		opts.ReplyTokens = -1 // an explicit 0 is an empty reply
	}
	return opts, *addr, nil
}
