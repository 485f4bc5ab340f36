// Command llmsim serves a simulated OpenAI-compatible model on
// 127.0.0.1:11434, where chatd's LOCAL provider looks by default. It streams a
// fixed, deterministic reply at a configurable pace and can inject faults;
// see the llmsim package documentation for the directives a request's model
// name may carry.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stderr, nil)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return
	case errors.Is(err, errUsage):
		stop()
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "llmsim:", err)
		stop()
		os.Exit(1)
	}
}
