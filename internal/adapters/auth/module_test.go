package auth_test

import (
	"testing"

	"go.uber.org/fx"

	"github.com/chatd/chatd/internal/adapters/auth"
	"github.com/chatd/chatd/internal/ports"
)

func TestModule(t *testing.T) {
	cfg := auth.Config{Secret: testSecret, Argon2: cheap}
	if err := fx.ValidateApp(auth.Module, fx.Supply(cfg), fx.Invoke(func(ports.TokenIssuer, ports.PasswordHasher) {})); err != nil {
		t.Fatalf("ValidateApp: %v", err)
	}
	var (
		issuer ports.TokenIssuer
		hasher ports.PasswordHasher
	)
	app := fx.New(fx.NopLogger, auth.Module, fx.Supply(cfg), fx.Populate(&issuer, &hasher))
	if err := app.Err(); err != nil {
		t.Fatalf("fx.New: %v", err)
	}
	hash, err := hasher.Hash("password1")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := hasher.Verify(hash, "password1"); !ok {
		t.Error("hasher from the module does not verify its own hash")
	}

	bad := fx.New(fx.NopLogger, auth.Module, fx.Supply(auth.Config{Secret: []byte("short")}), fx.Populate(&issuer))
	if bad.Err() == nil {
		t.Error("module started with a short secret")
	}
}
