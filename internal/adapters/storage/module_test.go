package storage_test

import (
	"context"
	"testing"

	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/adapters/storage"
	"github.com/chatd/chatd/internal/adapters/storage/storagetest"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// The module builds, binds every port, migrates on start and closes on stop.
func TestModule(t *testing.T) {
	var got struct {
		fx.In
		DB       *storage.DB
		Users    ports.UserRepository
		Sessions ports.SessionRepository
		Messages ports.MessageRepository
		Idem     ports.IdempotencyRepository
		Tokens   ports.RefreshTokenRepository
		Stats    ports.StatsReader
		Health   ports.HealthChecker
	}
	cfg := storage.Config{URL: storagetest.SQLiteURL(t), AutoMigrate: true}
	opts := fx.Options(fx.NopLogger, fx.Supply(cfg, zap.NewNop()), storage.Module, fx.Populate(&got))
	if err := fx.ValidateApp(opts); err != nil {
		t.Fatal(err)
	}
	app := fxtest.New(t, opts)
	app.RequireStart()
	ctx := context.Background()
	if err := got.Health.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	// Migrated: the table is there and simply empty.
	if _, err := got.Users.GetByEmail(ctx, "a@example.com"); !domain.IsKind(err, domain.ErrNotFound) {
		t.Fatalf("want not found from a migrated database, got %v", err)
	}
	app.RequireStop()
	if err := got.Health.Ping(ctx); !domain.IsKind(err, domain.ErrUnavailable) {
		t.Fatalf("after stop: want unavailable, got %v", err)
	}
}
