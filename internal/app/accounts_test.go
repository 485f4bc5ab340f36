package app_test

import (
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
)

func TestRegisterCreatesAUserAndLogsIn(t *testing.T) {
	e := newEnv(t)
	res, err := e.register.Handle(e.ctx, app.RegisterCmd{Email: "  Ada@Example.COM ", Password: "correct horse", DisplayName: " Ada "})
	must(t, err)
	if res.User.Email() != "ada@example.com" || res.User.DisplayName() != "Ada" || res.User.Role() != domain.UserRoleUser {
		t.Fatalf("user = %q %q %q", res.User.Email(), res.User.DisplayName(), res.User.Role())
	}
	stored, err := e.users.GetByEmail(e.ctx, "ada@example.com")
	must(t, err)
	if stored.PasswordHash() == "correct horse" || !strings.HasPrefix(stored.PasswordHash(), "fake$") {
		t.Fatalf("password stored as %q", stored.PasswordHash())
	}
	claims, err := e.issuer.VerifyAccess(res.AccessToken)
	must(t, err)
	if claims.UserID != res.User.ID() || res.ExpiresIn != 15*time.Minute {
		t.Fatalf("access token for %q, expires in %v", claims.UserID, res.ExpiresIn)
	}
	tokens := e.store.RefreshTokenRows()
	if len(tokens) != 1 || tokens[0].UserID != res.User.ID() || tokens[0].TokenHash != e.issuer.HashRefresh(res.RefreshToken) {
		t.Fatalf("refresh tokens stored: %+v", tokens)
	}
	if want := e.clock.Now().Add(720 * time.Hour).Truncate(time.Millisecond); !tokens[0].ExpiresAt.Equal(want) {
		t.Fatalf("refresh token expires %v, want %v", tokens[0].ExpiresAt, want)
	}
}

func TestRegisterRefusesBadInputAndTakenEmails(t *testing.T) {
	e := newEnv(t)
	_, err := e.register.Handle(e.ctx, app.RegisterCmd{Email: "ada@example.com", Password: "correct horse", DisplayName: "Ada"})
	must(t, err)

	_, err = e.register.Handle(e.ctx, app.RegisterCmd{Email: "ADA@example.com", Password: "another one", DisplayName: "Eve"})
	wantErr(t, err, domain.ErrConflict, "email-taken")

	for name, cmd := range map[string]app.RegisterCmd{
		"short password": {Email: "b@example.com", Password: "short", DisplayName: "B"},
		"bad email":      {Email: "not-an-email", Password: "long enough", DisplayName: "B"},
		"named address":  {Email: "B <b@example.com>", Password: "long enough", DisplayName: "B"},
		"no name":        {Email: "b@example.com", Password: "long enough", DisplayName: "   "},
		"NUL in name":    {Email: "b@example.com", Password: "long enough", DisplayName: "B\x00"},
	} {
		_, err := e.register.Handle(e.ctx, cmd)
		if !domain.IsKind(err, domain.ErrInvalid) {
			t.Errorf("%s: error = %v, want invalid", name, err)
		}
	}
	if n := len(e.store.RefreshTokenRows()); n != 1 {
		t.Fatalf("%d refresh tokens after refused registrations, want 1", n)
	}
}

// An unknown email and a wrong password answer the same error after the
// same work (one verification's worth).
func TestLoginAnswersTheSameForUnknownEmailAndWrongPassword(t *testing.T) {
	e := newEnv(t)
	_, err := e.register.Handle(e.ctx, app.RegisterCmd{Email: "ada@example.com", Password: "correct horse", DisplayName: "Ada"})
	must(t, err)

	_, unknown := e.login.Handle(e.ctx, app.LoginCmd{Email: "nobody@example.com", Password: "correct horse"})
	if e.hasher.Wasted() != 1 || e.hasher.Verified() != 0 {
		t.Fatalf("unknown email: wasted %d, verified %d; want the work of one verification", e.hasher.Wasted(), e.hasher.Verified())
	}
	_, wrong := e.login.Handle(e.ctx, app.LoginCmd{Email: "ada@example.com", Password: "wrong horse"})
	if e.hasher.Verified() != 1 {
		t.Fatalf("wrong password verified %d times", e.hasher.Verified())
	}
	_, malformed := e.login.Handle(e.ctx, app.LoginCmd{Email: "not an email", Password: "x"})
	if e.hasher.Wasted() != 2 {
		t.Fatalf("malformed email: wasted %d, want 2 in all", e.hasher.Wasted())
	}

	wantErr(t, unknown, domain.ErrUnauthenticated, "bad-credentials")
	if !reflect.DeepEqual(unknown, wrong) || !reflect.DeepEqual(unknown, malformed) {
		t.Fatalf("answers differ: unknown %#v, wrong %#v, malformed %#v", unknown, wrong, malformed)
	}
	if n := len(e.store.RefreshTokenRows()); n != 1 {
		t.Fatalf("failed logins stored refresh tokens: %d in all", n)
	}

	res, err := e.login.Handle(e.ctx, app.LoginCmd{Email: " ADA@example.com", Password: "correct horse"})
	must(t, err)
	if res.User.Email() != "ada@example.com" {
		t.Fatalf("logged in as %q", res.User.Email())
	}
}

func TestEveryLoginStartsANewTokenFamily(t *testing.T) {
	e := newEnv(t)
	_, err := e.register.Handle(e.ctx, app.RegisterCmd{Email: "ada@example.com", Password: "correct horse", DisplayName: "Ada"})
	must(t, err)
	_, err = e.login.Handle(e.ctx, app.LoginCmd{Email: "ada@example.com", Password: "correct horse"})
	must(t, err)
	families := map[string]bool{}
	for _, tok := range e.store.RefreshTokenRows() {
		families[tok.FamilyID] = true
	}
	if len(families) != 2 {
		t.Fatalf("register and login share a family: %v", families)
	}
}

func TestRefreshRotatesAndReuseRevokesTheFamily(t *testing.T) {
	e := newEnv(t)
	first, err := e.register.Handle(e.ctx, app.RegisterCmd{Email: "ada@example.com", Password: "correct horse", DisplayName: "Ada"})
	must(t, err)

	e.clock.Advance(time.Minute)
	second, err := e.refresh.Handle(e.ctx, first.RefreshToken)
	must(t, err)
	if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Fatal("refresh answered the same tokens")
	}
	if second.User.ID() != first.User.ID() {
		t.Fatalf("refresh logged in %q, want %q", second.User.ID(), first.User.ID())
	}
	rows := e.store.RefreshTokenRows()
	if len(rows) != 2 || rows[0].FamilyID != rows[1].FamilyID {
		t.Fatalf("rotation left %+v, want two tokens of one family", rows)
	}

	// The rotated token comes back: it leaked. The whole family dies.
	e.clock.Advance(time.Minute)
	_, err = e.refresh.Handle(e.ctx, first.RefreshToken)
	wantErr(t, err, domain.ErrUnauthenticated, "invalid-refresh-token")
	for _, row := range e.store.RefreshTokenRows() {
		if row.RevokedAt == nil {
			t.Fatalf("token %s not revoked after reuse", row.ID)
		}
	}
	_, err = e.refresh.Handle(e.ctx, second.RefreshToken)
	wantErr(t, err, domain.ErrUnauthenticated, "invalid-refresh-token")

	// Other families (another device) live on.
	other, err := e.login.Handle(e.ctx, app.LoginCmd{Email: "ada@example.com", Password: "correct horse"})
	must(t, err)
	if _, err := e.refresh.Handle(e.ctx, other.RefreshToken); err != nil {
		t.Fatalf("another family was revoked too: %v", err)
	}
}

// Two requests race with one token: exactly one wins, the loser is treated
// as a replay and the family is revoked.
func TestRefreshRaceLoserRevokesTheFamily(t *testing.T) {
	e := newEnv(t)
	first, err := e.register.Handle(e.ctx, app.RegisterCmd{Email: "ada@example.com", Password: "correct horse", DisplayName: "Ada"})
	must(t, err)

	// Both requests have read the token as unused before either marks it.
	barrier(e.store, "tokens.MarkUsed", 2)
	var wg sync.WaitGroup
	results := make([]error, 2)
	for i := range results {
		wg.Go(func() {
			_, results[i] = e.refresh.Handle(e.ctx, first.RefreshToken)
		})
	}
	wg.Wait()
	e.store.SetFault(nil)

	// At most one wins: the one that marks the token used; it is refused
	// too when the loser's revocation comes before its new token is stored.
	won := 0
	for _, err := range results {
		if err == nil {
			won++
		} else {
			wantErr(t, err, domain.ErrUnauthenticated, "invalid-refresh-token")
		}
	}
	if won > 1 {
		t.Fatalf("%d of 2 racing refreshes won, want at most 1 (%v)", won, results)
	}
	rows := e.store.RefreshTokenRows()
	if len(rows) != 1+won {
		t.Fatalf("%d tokens stored, want the original and one per winner (%d)", len(rows), won)
	}
	// Either way the family is spent: no token of it can be used again.
	for _, row := range rows {
		if row.RevokedAt == nil {
			t.Fatalf("a token of the raced family is still live: %+v", row)
		}
		if row.TokenHash == e.issuer.HashRefresh(first.RefreshToken) && row.UsedAt == nil {
			t.Fatalf("the raced token is not marked used: %+v", row)
		}
	}
}

// The race loser revokes the family; a winner that stores its new token
// afterwards is refused, so the family "revoked" for reuse holds no live
// token (the winner may be the thief).
func TestRefreshRaceWinnerMintsNoLiveTokenInARevokedFamily(t *testing.T) {
	e := newEnv(t)
	first, err := e.register.Handle(e.ctx, app.RegisterCmd{Email: "ada@example.com", Password: "correct horse", DisplayName: "Ada"})
	must(t, err)

	// Both read the token unused; the winner stores its new token only
	// after the loser revoked the family.
	var mu sync.Mutex
	marked, revoked := 0, make(chan struct{})
	both := make(chan struct{})
	e.store.SetFault(func(op string) error {
		switch op {
		case "tokens.MarkUsed":
			mu.Lock()
			if marked++; marked == 2 {
				close(both)
			}
			mu.Unlock()
			<-both
		case "tokens.Create":
			<-revoked
		}
		return nil
	})
	var wg sync.WaitGroup
	var lost sync.Once
	results := make([]error, 2)
	for i := range results {
		wg.Go(func() {
			_, results[i] = e.refresh.Handle(e.ctx, first.RefreshToken)
			if results[i] != nil {
				lost.Do(func() { close(revoked) })
			}
		})
	}
	wg.Wait()
	e.store.SetFault(nil)
	for _, row := range e.store.RefreshTokenRows() {
		if row.RevokedAt == nil {
			t.Fatalf("token %s of the revoked family is still live", row.ID)
		}
	}
}

func TestRefreshRefusesExpiredAndUnknownTokens(t *testing.T) {
	e := newEnv(t)
	first, err := e.register.Handle(e.ctx, app.RegisterCmd{Email: "ada@example.com", Password: "correct horse", DisplayName: "Ada"})
	must(t, err)

	_, err = e.refresh.Handle(e.ctx, "refresh-that-was-never-issued")
	wantErr(t, err, domain.ErrUnauthenticated, "invalid-refresh-token")

	e.clock.Advance(720*time.Hour + time.Second)
	_, err = e.refresh.Handle(e.ctx, first.RefreshToken)
	wantErr(t, err, domain.ErrUnauthenticated, "invalid-refresh-token")
	// Expiry is not theft: the family is not revoked, nothing is marked used.
	for _, row := range e.store.RefreshTokenRows() {
		if row.RevokedAt != nil || row.UsedAt != nil {
			t.Fatalf("expired token changed: %+v", row)
		}
	}
}

func TestLogoutRevokesTheFamilyAndIsIdempotent(t *testing.T) {
	e := newEnv(t)
	first, err := e.register.Handle(e.ctx, app.RegisterCmd{Email: "ada@example.com", Password: "correct horse", DisplayName: "Ada"})
	must(t, err)
	second, err := e.refresh.Handle(e.ctx, first.RefreshToken)
	must(t, err)

	must(t, e.logout.Handle(e.ctx, second.RefreshToken))
	must(t, e.logout.Handle(e.ctx, second.RefreshToken))
	must(t, e.logout.Handle(e.ctx, "never-issued"))
	must(t, e.logout.Handle(e.ctx, ""))

	_, err = e.refresh.Handle(e.ctx, second.RefreshToken)
	wantErr(t, err, domain.ErrUnauthenticated, "invalid-refresh-token")
	for _, row := range e.store.RefreshTokenRows() {
		if row.RevokedAt == nil {
			t.Fatalf("token %s survived logout", row.ID)
		}
	}
}

func TestAccountsCreateChecksThePasswordBeforeHashing(t *testing.T) {
	e := newEnv(t)
	e.hasher.FailHash(errFlaky)
	_, err := e.accounts.Create(e.ctx, "a@example.com", "short", "A", domain.UserRoleAdmin)
	wantErr(t, err, domain.ErrInvalid, "invalid-field")
	_, err = e.accounts.Create(e.ctx, "a@example.com", "long enough", "A", domain.UserRoleAdmin)
	if err == nil || domain.KindOf(err) != 0 {
		t.Fatalf("a hashing failure answered %v, want a plain (500) error", err)
	}
	e.hasher.FailHash(nil)
	u, err := e.accounts.Create(e.ctx, "a@example.com", "long enough", "A", domain.UserRoleAdmin)
	must(t, err)
	if !u.IsAdmin() {
		t.Fatal("the role was not kept")
	}
}
