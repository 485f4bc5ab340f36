package auth

import (
	"go.uber.org/fx"

	"github.com/chatd/chatd/internal/ports"
)

// Module provides the token issuer and the password hasher from the Config
// in the graph.
var Module = fx.Module("auth",
	fx.Provide(
		fx.Annotate(NewTokenIssuer, fx.As(new(ports.TokenIssuer))),
		fx.Annotate(newHasherFromConfig, fx.As(new(ports.PasswordHasher))),
	),
)

// newHasherFromConfig lets one Config drive both providers; a zero
// cfg.Argon2 means DefaultArgon2Params.
func newHasherFromConfig(cfg Config) (*Argon2Hasher, error) {
	return NewArgon2Hasher(cfg.Argon2)
}
