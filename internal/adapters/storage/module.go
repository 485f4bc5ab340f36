package storage

import (
	"context"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/ports"
)

// openTimeout bounds Open inside the fx constructor. Opening PostgreSQL does
// not touch the network; opening SQLite waits at most for busy_timeout.
const openTimeout = 10 * time.Second

// Module provides *DB (opened by its constructor, migrated on start when
// Config.AutoMigrate is set, closed on stop) and binds the repositories to
// their ports. It needs a storage.Config and a *zap.Logger.
var Module = fx.Module("storage",
	fx.Provide(
		newDB,
		fx.Annotate(NewUserRepo, fx.As(new(ports.UserRepository))),
		fx.Annotate(NewSessionRepo, fx.As(new(ports.SessionRepository))),
		fx.Annotate(NewMessageRepo, fx.As(new(ports.MessageRepository))),
		fx.Annotate(NewIdempotencyRepo, fx.As(new(ports.IdempotencyRepository))),
		fx.Annotate(NewRefreshTokenRepo, fx.As(new(ports.RefreshTokenRepository))),
		fx.Annotate(NewStatsRepo, fx.As(new(ports.StatsReader)), fx.As(new(ports.UsageReader))),
		fx.Annotate(NewImportRepo, fx.As(new(ports.ImportRepository))),
		fx.Annotate(NewExportRepo, fx.As(new(ports.ExportReader))),
		fx.Annotate(NewMessageSearch, fx.As(new(ports.MessageSearch))),
		fx.Annotate(healthChecker, fx.As(new(ports.HealthChecker))),
	),
)

var _ ports.HealthChecker = (*DB)(nil)

// newDB opens the database and ties it to the app's lifecycle: whoever opens
// a resource owns its hooks.
func newDB(lc fx.Lifecycle, cfg Config, log *zap.Logger) (*DB, error) {
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	db, err := Open(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	lc.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			if !cfg.AutoMigrate {
				return nil
			}
			_, err := db.Migrate(ctx)
			return err
		},
		OnStop: func(context.Context) error { return db.Close() },
	})
	return db, nil
}

// healthChecker exposes *DB as the readiness probe's port.
func healthChecker(db *DB) *DB { return db }
