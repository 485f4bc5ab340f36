package storagetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

func (f *fixture) token(t *testing.T, u *domain.User, family, hash string) domain.RefreshToken {
	t.Helper()
	tok := domain.RefreshToken{ID: newID(), FamilyID: family, UserID: u.ID(), TokenHash: hash, ExpiresAt: f.now.Add(30 * 24 * time.Hour), CreatedAt: f.now}
	must(t, f.tokens.Create(f.ctx, tok))
	return tok
}

func storedToken(tok domain.RefreshToken) domain.RefreshToken {
	tok.ExpiresAt, tok.CreatedAt = ms(tok.ExpiresAt), ms(tok.CreatedAt)
	if tok.UsedAt != nil {
		tok.UsedAt = msPtr(*tok.UsedAt)
	}
	if tok.RevokedAt != nil {
		tok.RevokedAt = msPtr(*tok.RevokedAt)
	}
	return tok
}

var tokenTests = map[string]func(t *testing.T, f *fixture){
	"round trip and not found": func(t *testing.T, f *fixture) {
		u := f.user(t, "u@example.com")
		tok := f.token(t, u, newID(), "hash-1")
		got, err := f.tokens.GetByHash(f.ctx, "hash-1")
		must(t, err)
		equal(t, "token", got, storedToken(tok))
		_, err = f.tokens.GetByHash(f.ctx, "hash-2")
		wantErr(t, err, domain.ErrNotFound, "refresh-token-not-found")
		// A retried create is a no-op.
		must(t, f.tokens.Create(f.ctx, tok))
	},
	"mark used once": func(t *testing.T, f *fixture) {
		u := f.user(t, "u@example.com")
		tok := f.token(t, u, newID(), "hash-1")
		at := f.tick(time.Minute)
		ok, err := f.tokens.MarkUsed(f.ctx, tok.ID, at)
		must(t, err)
		equal(t, "first use", ok, true)
		ok, err = f.tokens.MarkUsed(f.ctx, tok.ID, f.tick(time.Minute))
		must(t, err)
		equal(t, "second use", ok, false)
		got, err := f.tokens.GetByHash(f.ctx, "hash-1")
		must(t, err)
		equal(t, "used at is the first use", got.UsedAt, msPtr(at))
		ok, err = f.tokens.MarkUsed(f.ctx, newID(), at)
		must(t, err)
		equal(t, "missing token", ok, false)
	},
	"mark used race has one winner": func(t *testing.T, f *fixture) {
		u := f.user(t, "u@example.com")
		tok := f.token(t, u, newID(), "hash-1")
		const racers = 20
		var wg sync.WaitGroup
		wins := make(chan bool, racers)
		errs := make(chan error, racers)
		at := f.tick(time.Minute)
		for range racers {
			wg.Go(func() {
				ok, err := f.tokens.MarkUsed(f.ctx, tok.ID, at)
				wins <- ok
				errs <- err
			})
		}
		wg.Wait()
		close(wins)
		close(errs)
		for err := range errs {
			must(t, err)
		}
		n := 0
		for ok := range wins {
			if ok {
				n++
			}
		}
		equal(t, "winners", n, 1)
	},
	"revoke family": func(t *testing.T, f *fixture) {
		u := f.user(t, "u@example.com")
		family, other := newID(), newID()
		a := f.token(t, u, family, "a")
		b := f.token(t, u, family, "b")
		c := f.token(t, u, other, "c")
		early := f.tick(time.Minute)
		must(t, f.tokens.RevokeFamily(f.ctx, family, early))
		later := f.tick(time.Minute)
		// A rotation that lost the race with the revocation mints nothing.
		late := domain.RefreshToken{ID: newID(), FamilyID: family, UserID: u.ID(), TokenHash: "d",
			ExpiresAt: f.now.Add(time.Hour), CreatedAt: f.now}
		if err := f.tokens.Create(f.ctx, late); !errors.Is(err, ports.ErrFamilyRevoked) {
			t.Fatalf("a token created in a revoked family: %v, want ErrFamilyRevoked", err)
		}
		if _, err := f.tokens.GetByHash(f.ctx, "d"); !domain.IsKind(err, domain.ErrNotFound) {
			t.Fatalf("the refused token was stored: %v", err)
		}
		must(t, f.tokens.RevokeFamily(f.ctx, family, later))

		for _, want := range []struct {
			tok domain.RefreshToken
			at  *time.Time
		}{{a, msPtr(early)}, {b, msPtr(early)}, {c, nil}} {
			got, err := f.tokens.GetByHash(f.ctx, want.tok.TokenHash)
			must(t, err)
			equal(t, "revoked_at of "+want.tok.TokenHash, got.RevokedAt, want.at)
			if want.at != nil && !got.IsReplay() {
				t.Fatalf("token %s should read as replayed once revoked", want.tok.TokenHash)
			}
		}
		must(t, f.tokens.RevokeFamily(f.ctx, newID(), later))
	},
}
