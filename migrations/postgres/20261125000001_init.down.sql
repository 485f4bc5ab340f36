-- Reverse of the init migration: children first so foreign keys never dangle.
DROP TABLE IF EXISTS idempotency_keys;
--bun:split
DROP TABLE IF EXISTS refresh_tokens;
--bun:split
DROP TABLE IF EXISTS chat_messages;
--bun:split
DROP TABLE IF EXISTS session_participants;
--bun:split
DROP TABLE IF EXISTS chat_sessions;
--bun:split
DROP TABLE IF EXISTS users;
