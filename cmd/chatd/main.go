// Command chatd serves the chat API, runs migrations and manages users.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/chatd/chatd/internal/adapters/bootstrap"
)

const usage = `chatd: a chat backend for LLM applications.

Usage:
  chatd [settings] [serve]                 apply pending migrations, then serve until SIGINT/SIGTERM
  chatd [settings] migrate up|down|status  manage the database schema
  chatd [settings] user create --email E --password-stdin [--display-name N] [--admin]
  chatd [settings] healthcheck             exit 0 if the chatd on CHAT_HTTP_ADDR is ready (container probes)
  chatd --help                             this text

`

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, rest, err := bootstrap.Load(args, getenv)
	if errors.Is(err, bootstrap.ErrHelp) {
		fmt.Fprint(stdout, usage+bootstrap.Usage())
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	log, err := bootstrap.NewLogger(cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	defer func() { _ = log.Sync() }()

	command := "serve"
	if len(rest) > 0 {
		command, rest = rest[0], rest[1:]
	}
	switch command {
	case "serve":
		err = serve(cfg, log)
	case "migrate":
		err = migrate(cfg, log, rest, stdout)
	case "user":
		err = user(cfg, log, rest, stdin, stdout, stderr)
	case "healthcheck":
		err = healthcheck(cfg)
	case "help":
		fmt.Fprint(stdout, usage+bootstrap.Usage())
		return 0
	default:
		err = fmt.Errorf("unknown command %q; see chatd --help", command)
	}
	if err != nil {
		fmt.Fprintln(stderr, "chatd:", err)
		return 1
	}
	return 0
}
