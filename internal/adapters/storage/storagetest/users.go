package storagetest

import (
	"testing"
	"time"

	"github.com/chatd/chatd/internal/domain"
)

var userTests = map[string]func(t *testing.T, f *fixture){
	"round trip by id and email": func(t *testing.T, f *fixture) {
		u, err := domain.NewUser(newID(), "Ada@Example.com", "Ada Lovelace ✨", "$argon2id$v=19$m=19456,t=2,p=1$abc",
			domain.UserRoleAdmin, f.now)
		must(t, err)
		must(t, f.users.Create(f.ctx, u))

		byID, err := f.users.GetByID(f.ctx, u.ID())
		must(t, err)
		equal(t, "by id", byID, storedUser(u))
		byEmail, err := f.users.GetByEmail(f.ctx, "ada@example.com")
		must(t, err)
		equal(t, "by email", byEmail, storedUser(u))
		if byID.CreatedAt().Location() != time.UTC {
			t.Fatalf("created_at location = %v, want UTC", byID.CreatedAt().Location())
		}
	},
	"missing is not found": func(t *testing.T, f *fixture) {
		_, err := f.users.GetByID(f.ctx, newID())
		wantErr(t, err, domain.ErrNotFound, "user-not-found")
		_, err = f.users.GetByEmail(f.ctx, "nobody@example.com")
		wantErr(t, err, domain.ErrNotFound, "user-not-found")
		// An id that is not a canonical UUID cannot exist: same answer on both dialects.
		_, err = f.users.GetByID(f.ctx, "not-a-uuid")
		wantErr(t, err, domain.ErrNotFound, "user-not-found")
	},
	"email taken is a conflict": func(t *testing.T, f *fixture) {
		f.user(t, "taken@example.com")
		other, err := domain.NewUser(newID(), "taken@example.com", "Other", "h", domain.UserRoleUser, f.now)
		must(t, err)
		wantErr(t, f.users.Create(f.ctx, other), domain.ErrConflict, "email-taken")
	},
	"create retried with the same id is a no-op": func(t *testing.T, f *fixture) {
		u := f.user(t, "retry@example.com")
		must(t, f.users.Create(f.ctx, u))
		got, err := f.users.GetByID(f.ctx, u.ID())
		must(t, err)
		equal(t, "user", got, storedUser(u))
	},
}
