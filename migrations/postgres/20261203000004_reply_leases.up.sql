-- Reply ownership when several processes share the database: the process
-- generating a reply holds a lease on it that it renews; only a reply whose
-- lease lapsed (its process died) is repaired, by whichever process sees it
-- first. Rows stored before this migration have no lease and are repaired as
-- before, at the next start.
ALTER TABLE chat_messages ADD COLUMN owner_id text;
--bun:split
ALTER TABLE chat_messages ADD COLUMN lease_expires_at timestamptz;
--bun:split
-- How many of a streaming reply's delta events its stored text holds, so any
-- process can rebuild the text a client has seen: stored text + later deltas.
ALTER TABLE chat_messages ADD COLUMN streamed_deltas integer NOT NULL DEFAULT 0;
--bun:split
-- Renewing a process's leases and finding lapsed ones read only unfinished
-- replies: a handful of rows however long the history.
CREATE INDEX chat_messages_leases_idx ON chat_messages (owner_id, lease_expires_at)
    WHERE status IN ('pending', 'streaming');
