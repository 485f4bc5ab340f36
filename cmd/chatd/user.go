package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/adapters/bootstrap"
	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
)

// user runs `chatd user create`: how a deployment gets its first admin.
func user(cfg bootstrap.Config, log *zap.Logger, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: chatd user create --email E --password-stdin [--display-name N] [--admin]")
	}
	fs := flag.NewFlagSet("chatd user create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "the user's email address")
	displayName := fs.String("display-name", "", "the name shown to others (default: the part of the email before @)")
	passwordStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	admin := fs.Bool("admin", false, "make the user an administrator")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *email == "" || !*passwordStdin {
		return errors.New("--email and --password-stdin are required (passwords are never taken as arguments)")
	}
	password, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password: %w", err)
	}
	password = strings.TrimRight(password, "\r\n")
	if *displayName == "" {
		*displayName, _, _ = strings.Cut(*email, "@")
	}
	role := domain.UserRoleUser
	if *admin {
		role = domain.UserRoleAdmin
	}
	if err := cfg.ResolveJWTSecret(); err != nil {
		return err
	}

	var accounts *app.Accounts
	fxApp := fx.New(bootstrap.CoreOptions(cfg, log), fx.Populate(&accounts))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := fxApp.Start(ctx); err != nil {
		return err
	}
	defer func() { _ = fxApp.Stop(context.Background()) }()
	u, err := accounts.Create(ctx, *email, password, *displayName, role)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s user %s (%s)\n", u.Role(), u.Email(), u.ID())
	return nil
}
