DROP INDEX IF EXISTS chat_messages_leases_idx;
--bun:split
ALTER TABLE chat_messages DROP COLUMN streamed_deltas;
--bun:split
ALTER TABLE chat_messages DROP COLUMN lease_expires_at;
--bun:split
ALTER TABLE chat_messages DROP COLUMN owner_id;
