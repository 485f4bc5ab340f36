// Package portstest holds contract suites of the ports: every implementation
// runs the same tests, so the in-process adapters, the fakes and the
// broker-backed adapters keep one set of semantics.
//
// RunSessionEvents checks ports.SessionEvents and ports.ReplyControl on one
// instance. RunSessionEventsShared checks what needs two processes on one
// backend: it runs the single-instance cases with the publisher on one
// instance and the subscriber on the other, then the cases that need both
// instances at once (concurrent publishers, Close and cancel requests
// reaching every process).
//
// The suite takes no wall-clock time into account (no replay age), so every
// implementation can pass it with its production clock.
package portstest
