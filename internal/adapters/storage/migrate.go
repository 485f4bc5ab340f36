package storage

import (
	"context"
	"database/sql/driver"
	"fmt"
	"io/fs"
	"time"

	"github.com/uptrace/bun/migrate"
	"go.uber.org/zap"

	"github.com/chatd/chatd/migrations"
)

// pgMigrationLock is the advisory-lock key that keeps two chatd processes
// starting together from migrating at once (any constant will do; this one
// reads "chatd" in ASCII). Unlike bun's lock table, a session lock vanishes
// with a crashed process instead of blocking every later start.
const pgMigrationLock int64 = 0x6368617464

// MigrationState is one migration and whether it is applied.
type MigrationState struct {
	Name       string // the timestamp, e.g. 20261125000001
	Comment    string // the rest of the file name, e.g. init
	Applied    bool
	GroupID    int64
	MigratedAt *time.Time
}

func (m MigrationState) String() string {
	if !m.Applied {
		return fmt.Sprintf("%s_%s pending", m.Name, m.Comment)
	}
	at := ""
	if m.MigratedAt != nil {
		at = " at " + m.MigratedAt.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("%s_%s applied (group %d%s)", m.Name, m.Comment, m.GroupID, at)
}

// Migrate applies every pending migration as one group and returns their names.
func (db *DB) Migrate(ctx context.Context) ([]string, error) {
	var names []string
	err := db.withMigrator(ctx, func(m *migrate.Migrator) error {
		group, err := m.Migrate(ctx)
		if err != nil {
			return err
		}
		names = groupNames(group)
		return nil
	})
	if err != nil {
		return nil, wrap("migrate", err)
	}
	if len(names) > 0 {
		db.log.Info("migrations applied", zap.Strings("migrations", names))
	}
	return names, nil
}

// Rollback reverts the last applied group and returns the names it reverted.
func (db *DB) Rollback(ctx context.Context) ([]string, error) {
	var names []string
	err := db.withMigrator(ctx, func(m *migrate.Migrator) error {
		group, err := m.Rollback(ctx)
		if err != nil {
			return err
		}
		names = groupNames(group)
		return nil
	})
	if err != nil {
		return nil, wrap("rollback migrations", err)
	}
	if len(names) > 0 {
		db.log.Info("migrations rolled back", zap.Strings("migrations", names))
	}
	return names, nil
}

// MigrationStatus lists every known migration, oldest first.
func (db *DB) MigrationStatus(ctx context.Context) ([]MigrationState, error) {
	var out []MigrationState
	err := db.withMigrator(ctx, func(m *migrate.Migrator) error {
		ms, err := m.MigrationsWithStatus(ctx)
		if err != nil {
			return err
		}
		for _, mig := range ms {
			s := MigrationState{Name: mig.Name, Comment: mig.Comment, Applied: mig.IsApplied(), GroupID: mig.GroupID}
			if s.Applied {
				at := mig.MigratedAt.UTC()
				s.MigratedAt = &at
			}
			out = append(out, s)
		}
		return nil
	})
	if err != nil {
		return nil, wrap("migration status", err)
	}
	return out, nil
}

// withMigrator builds the migrator for this dialect's embedded files,
// creates its bookkeeping tables and, on PostgreSQL, holds the migration
// lock while fn runs. Migrations go through the write handle: on SQLite they
// are writes like any other.
func (db *DB) withMigrator(ctx context.Context, fn func(*migrate.Migrator) error) error {
	files, err := fs.Sub(migrations.FS, db.dialect)
	if err != nil {
		return err
	}
	ms := migrate.NewMigrations()
	if err := ms.Discover(files); err != nil {
		return err
	}
	// Record a migration only once it has succeeded, so a failed one runs
	// again next time instead of counting as applied.
	m := migrate.NewMigrator(db.write, ms, migrate.WithMarkAppliedOnSuccess(true))

	if db.isPostgres() {
		conn, err := db.write.Conn(ctx)
		if err != nil {
			return err
		}
		defer func() { _ = conn.Close() }()
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", pgMigrationLock); err != nil {
			return err
		}
		defer func() {
			// Unlock even if ctx has ended. If that fails, drop the connection
			// (the lock goes with it) rather than pool it still holding the lock.
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if _, err := conn.ExecContext(uctx, "SELECT pg_advisory_unlock(?)", pgMigrationLock); err != nil {
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}()
	}
	if err := m.Init(ctx); err != nil {
		return err
	}
	return fn(m)
}

func groupNames(g *migrate.MigrationGroup) []string {
	if g == nil {
		return nil
	}
	names := make([]string, 0, len(g.Migrations))
	for _, m := range g.Migrations {
		names = append(names, m.Name+"_"+m.Comment)
	}
	return names
}
