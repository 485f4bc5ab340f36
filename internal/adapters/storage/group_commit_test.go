package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/uptrace/bun"
)

// groupProbe is a table of its own, so the test sees exactly its writes.
func groupProbe(t *testing.T, db *DB) func() map[string]bool {
	t.Helper()
	if _, err := db.write.ExecContext(context.Background(), "CREATE TABLE group_probe (name TEXT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	return func() map[string]bool {
		var names []string
		if err := db.read.NewRaw("SELECT name FROM group_probe").Scan(context.Background(), &names); err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, n := range names {
			got[n] = true
		}
		return got
	}
}

func insertProbe(ctx context.Context, tx bun.Tx, name string) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO group_probe (name) VALUES (?)", name)
	return err
}

// Writers that share a commit keep their work apart: a failing one loses
// only its own rows (even those written before it failed), a panicking one
// panics in its caller, and every other one is stored when it returns.
func TestGroupCommitKeepsMembersApart(t *testing.T) {
	db := openTestSQLite(t)
	stored := groupProbe(t, db)
	ctx := context.Background()
	errRefused := errors.New("refused")

	const writers = 300
	results := make([]error, writers)
	panics := make([]any, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			name := fmt.Sprintf("w%03d", i)
			results[i] = db.inWriteTx(ctx, func(ctx context.Context, tx bun.Tx) error {
				if err := insertProbe(ctx, tx, name); err != nil {
					return err
				}
				switch i % 10 {
				case 3:
					return errRefused
				case 7:
					panic("writer " + name)
				case 9:
					// A duplicate key: a failed statement inside the member.
					return insertProbe(ctx, tx, name)
				}
				return nil
			})
		})
	}
	wg.Wait()

	got := stored()
	for i := range writers {
		name := fmt.Sprintf("w%03d", i)
		switch i % 10 {
		case 3:
			if !errors.Is(results[i], errRefused) || got[name] {
				t.Errorf("%s: refused writer answered %v, stored %v", name, results[i], got[name])
			}
		case 7:
			if panics[i] != "writer "+name || got[name] {
				t.Errorf("%s: panicking writer recovered %v, stored %v", name, panics[i], got[name])
			}
		case 9:
			if results[i] == nil || got[name] {
				t.Errorf("%s: failed statement answered %v, stored %v", name, results[i], got[name])
			}
		default:
			if results[i] != nil || !got[name] {
				t.Errorf("%s: answered %v, stored %v", name, results[i], got[name])
			}
		}
	}
}

// A writer whose context has ended before its group starts runs nothing.
func TestGroupCommitSkipsEndedContexts(t *testing.T) {
	db := openTestSQLite(t)
	stored := groupProbe(t, db)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := db.inWriteTx(ctx, func(ctx context.Context, tx bun.Tx) error { return insertProbe(ctx, tx, "late") })
	if !errors.Is(err, context.Canceled) || stored()["late"] {
		t.Fatalf("cancelled writer: %v, stored %v", err, stored()["late"])
	}
}

// After Close, writes are refused rather than left waiting.
func TestGroupCommitRefusesAfterClose(t *testing.T) {
	db := openTestSQLite(t)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	err := db.inWriteTx(context.Background(), func(context.Context, bun.Tx) error { return nil })
	if !errors.Is(err, errStorageClosed) {
		t.Fatalf("write after close: %v", err)
	}
}
