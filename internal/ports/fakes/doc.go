// Package fakes holds in-memory implementations of the ports, for unit tests
// of the use cases. Each one keeps the semantics the core relies on from the
// real adapter (error kinds and codes, atomic updates, ordering, storage
// precision) so a test that passes here says something about production.
//
// The repositories share one Store: a session's messages bump its count, a
// deleted session takes its messages along, stats read everything. Values go
// in and out as copies (domain.Rehydrate*(x.Snapshot())), so a test cannot
// change stored state by holding on to an entity.
//
// Everything is safe for concurrent use. The package imports only the
// standard library, the domain and the ports.
package fakes
