-- SQLite twin of postgres/20261203000004_reply_leases.up.sql.
ALTER TABLE chat_messages ADD COLUMN owner_id TEXT;
--bun:split
ALTER TABLE chat_messages ADD COLUMN lease_expires_at TEXT;
--bun:split
-- How many of a streaming reply's delta events its stored text holds, so any
-- process can rebuild the text a client has seen: stored text + later deltas.
ALTER TABLE chat_messages ADD COLUMN streamed_deltas INTEGER NOT NULL DEFAULT 0;
--bun:split
CREATE INDEX chat_messages_leases_idx ON chat_messages (owner_id, lease_expires_at)
    WHERE status IN ('pending', 'streaming');
