package main

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/adapters/bootstrap"
)

// startTimeout bounds opening the database and migrating it.
const startTimeout = 60 * time.Second

func serve(cfg bootstrap.Config, log *zap.Logger) error {
	if err := cfg.ResolveJWTSecret(); err != nil {
		return err
	}
	app := fx.New(bootstrap.Options(cfg, log), fx.StartTimeout(startTimeout),
		// The drain waits for streams up to the shutdown timeout, then saves
		// the rest; leave it room to finish that.
		fx.StopTimeout(cfg.DrainDelay+cfg.ShutdownTimeout+10*time.Second))
	if err := app.Err(); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	startCtx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := app.Start(startCtx); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	sig := <-app.Wait()
	log.Info("stopping", zap.String("signal", sig.Signal.String()))
	stopCtx, cancelStop := context.WithTimeout(context.Background(), app.StopTimeout())
	defer cancelStop()
	if err := app.Stop(stopCtx); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	log.Info("stopped")
	return nil
}
