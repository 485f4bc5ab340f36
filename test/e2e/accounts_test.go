package e2e

import (
	"net/http"
	"testing"

	"github.com/chatd/chatd/test/harness"
)

func TestAccounts(t *testing.T) {
	harness.ForEachDialect(t, func(t *testing.T, d harness.Dialect) {
		srv := harness.Start(t, harness.DefaultConfig(t, d))

		ada := srv.Client(t)
		reg := ada.Register("Ada@Example.com", "correct horse battery").Map()
		if reg["token_type"] != "bearer" || reg["expires_in"].(float64) <= 0 {
			t.Fatalf("register answered %v", reg)
		}
		me := ada.Do("GET", "/api/v1/auth/me", nil).Expect(http.StatusOK).Map()
		if me["email"] != "ada@example.com" || me["role"] != "user" || me["id"] != ada.UserID {
			t.Fatalf("me = %v", me)
		}

		// The same email again, in another case, is a conflict.
		srv.Client(t).Do("POST", "/api/v1/auth/register", map[string]any{
			"email": "ada@example.com", "password": "another password", "display_name": "Eve",
		}).Problem(http.StatusConflict)

		// Wrong password and unknown email answer the same problem.
		wrong := srv.Client(t).Login("ada@example.com", "wrong password!").Problem(http.StatusUnauthorized)
		unknown := srv.Client(t).Login("nobody@example.com", "wrong password!").Problem(http.StatusUnauthorized)
		if wrong.Detail != unknown.Detail || wrong.Type != unknown.Type {
			t.Fatalf("login answers differ: %+v vs %+v", wrong, unknown)
		}
		if r := srv.Client(t).Login("ada@example.com", "correct horse battery"); r.Status != http.StatusOK {
			t.Fatalf("login: %d %s", r.Status, r.Body)
		}

		// Refresh rotates; presenting the used token revokes the family.
		first := ada.RefreshToken
		rotated := ada.Do("POST", "/api/v1/auth/refresh", map[string]any{"refresh_token": first}).Expect(http.StatusOK).Map()
		second := rotated["refresh_token"].(string)
		if second == first {
			t.Fatal("refresh did not rotate the token")
		}
		ada.Do("POST", "/api/v1/auth/refresh", map[string]any{"refresh_token": first}).Problem(http.StatusUnauthorized)
		ada.Do("POST", "/api/v1/auth/refresh", map[string]any{"refresh_token": second}).Problem(http.StatusUnauthorized)

		// Logout revokes the family of the token it is given.
		bob := srv.NewUser(t)
		bob.Do("POST", "/api/v1/auth/logout", map[string]any{"refresh_token": bob.RefreshToken}).Expect(http.StatusNoContent)
		bob.Do("POST", "/api/v1/auth/refresh", map[string]any{"refresh_token": bob.RefreshToken}).Problem(http.StatusUnauthorized)

		// No token, or a bad one, is 401 on every chat route.
		anon := srv.Client(t)
		anon.Do("GET", "/api/v1/chat/sessions", nil).Problem(http.StatusUnauthorized)
		anon.Token = "not-a-jwt"
		anon.Do("GET", "/api/v1/auth/me", nil).Problem(http.StatusUnauthorized)

		// Registration validates its fields.
		p := srv.Client(t).Do("POST", "/api/v1/auth/register", map[string]any{
			"email": "not-an-email", "password": "short", "display_name": "x",
		}).Problem(http.StatusUnprocessableEntity)
		if len(p.Errors) == 0 {
			t.Fatalf("no field errors in %+v", p)
		}
	})
}
