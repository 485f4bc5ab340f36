package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/adapters/bootstrap"
	"github.com/chatd/chatd/internal/adapters/storage"
)

// migrate runs `chatd migrate up|down|status` against CHAT_DATABASE_URL.
func migrate(cfg bootstrap.Config, log *zap.Logger, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: chatd migrate up|down|status")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	db, err := storage.Open(ctx, storage.Config{URL: cfg.DatabaseURL}, log)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()

	switch args[0] {
	case "up":
		names, err := db.Migrate(ctx)
		if err != nil {
			return err
		}
		printNames(stdout, "applied", names)
	case "down":
		names, err := db.Rollback(ctx)
		if err != nil {
			return err
		}
		printNames(stdout, "rolled back", names)
	case "status":
		states, err := db.MigrationStatus(ctx)
		if err != nil {
			return err
		}
		for _, s := range states {
			fmt.Fprintln(stdout, s)
		}
	default:
		return fmt.Errorf("unknown migrate command %q; use up, down or status", args[0])
	}
	return nil
}

func printNames(w io.Writer, verb string, names []string) {
	if len(names) == 0 {
		fmt.Fprintf(w, "nothing %s\n", verb)
		return
	}
	for _, n := range names {
		fmt.Fprintf(w, "%s %s\n", verb, n)
	}
}
