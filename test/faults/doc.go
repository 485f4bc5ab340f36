// Package faults holds chatd's fault-injection tests: the failures of the
// world that must lose nothing. Each test runs the real fx graph in-process
// on a real socket (test/harness) and breaks what sits under it:
//
//   - a private PostgreSQL server (never the shared one) stopped, then frozen
//     with SIGSTOP, while a reply streams;
//   - SQLite on a tiny tmpfs that fills up;
//   - the upstream model behind an in-process toxiproxy (latency, slow drip,
//     reset, truncation);
//   - twenty users posting with replies at once on the SQLite default.
//
// Each asserts that every message that got a 2xx is stored, that no reply
// stays "streaming", and that stored reply text is a prefix of what llmsim sent.
//
// The tests need root (or the rights) for two things and skip with a message
// without them: running PostgreSQL's binaries as the postgres user
// (CHAT_TEST_REQUIRE_POSTGRES=1 turns that skip into a failure), and mounting
// a tmpfs.
package faults
