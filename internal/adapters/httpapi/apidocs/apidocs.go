// Package apidocs publishes chatd's public contract: the OpenAPI 3.0.3
// document (openapi.json, the one source of truth for the HTTP API, kept in
// step with shared/design/CONTRACT.md) and the pages that render it, Swagger
// UI on /docs and ReDoc on /redoc. Everything is embedded in the binary: the
// pages load nothing from the network.
package apidocs

import (
	"bytes"
	_ "embed"
)

//go:embed openapi.json
var spec []byte

// Spec returns the OpenAPI document as JSON. The caller owns the copy.
func Spec() []byte { return bytes.Clone(spec) }
