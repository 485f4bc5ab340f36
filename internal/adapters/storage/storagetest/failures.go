package storagetest

import (
	"context"
	"testing"

	"github.com/chatd/chatd/internal/domain"
)

var failureTests = map[string]func(t *testing.T, f *fixture){
	"ping answers": func(t *testing.T, f *fixture) {
		must(t, f.health.Ping(f.ctx))
	},
	"an ended context is unavailable": func(t *testing.T, f *fixture) {
		u := f.user(t, "u@example.com")
		ctx, cancel := context.WithCancel(f.ctx)
		cancel()
		_, err := f.users.GetByID(ctx, u.ID())
		wantErr(t, err, domain.ErrUnavailable, "storage-unavailable")
		_, err = f.messages.RepairLapsed(ctx, f.now, f.now, "")
		wantErr(t, err, domain.ErrUnavailable, "storage-unavailable")
		wantErr(t, f.health.Ping(ctx), domain.ErrUnavailable, "storage-unavailable")
	},
	"a closed database is unavailable": func(t *testing.T, f *fixture) {
		u := f.user(t, "u@example.com")
		must(t, f.db.Close())
		_, err := f.users.GetByID(f.ctx, u.ID())
		wantErr(t, err, domain.ErrUnavailable, "storage-unavailable")
		other, err := domain.NewUser(newID(), "other@example.com", "Other", "h", domain.UserRoleUser, f.now)
		must(t, err)
		wantErr(t, f.users.Create(f.ctx, other), domain.ErrUnavailable, "storage-unavailable")
		wantErr(t, f.health.Ping(f.ctx), domain.ErrUnavailable, "storage-unavailable")
	},
}
