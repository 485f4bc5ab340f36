package system_test

import (
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/chatd/chatd/internal/adapters/system"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

func TestIDsCanonicalAndIncreasing(t *testing.T) {
	ids := system.NewIDs()
	prev := ""
	for i := 0; i < 10000; i++ {
		id := ids.NewID()
		if _, ok := domain.ParseID(id); !ok {
			t.Fatalf("id %q is not canonical", id)
		}
		if id[14] != '7' {
			t.Fatalf("id %q is not version 7", id)
		}
		if id <= prev {
			t.Fatalf("id %q does not sort after %q", id, prev)
		}
		prev = id
	}
}

func TestClockIsUTC(t *testing.T) {
	now := system.NewClock().Now()
	if now.Location() != time.UTC {
		t.Errorf("location = %v", now.Location())
	}
	if d := time.Since(now); d < 0 || d > time.Minute {
		t.Errorf("clock off by %v", d)
	}
}

func TestModule(t *testing.T) {
	var (
		clock ports.Clock
		ids   ports.IDs
	)
	app := fx.New(fx.NopLogger, system.Module, fx.Populate(&clock, &ids))
	if err := app.Err(); err != nil {
		t.Fatal(err)
	}
	if clock.Now().IsZero() || ids.NewID() == "" {
		t.Error("module values do not work")
	}
}
