// Package migrations holds chatd's schema as plain SQL, one folder per
// dialect, embedded so that the binary migrates itself (bun's migrator reads
// the files; `--bun:split` separates statements).
package migrations

import "embed"

// FS holds postgres/*.sql and sqlite/*.sql. Files are named
// <timestamp>_<name>.up.sql / .down.sql and are never edited once shipped:
// a change is a new pair.
//
//go:embed postgres/*.sql sqlite/*.sql
var FS embed.FS
