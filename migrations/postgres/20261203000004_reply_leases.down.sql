DROP INDEX IF EXISTS chat_messages_leases_idx;
--bun:split
ALTER TABLE chat_messages DROP COLUMN IF EXISTS streamed_deltas;
--bun:split
ALTER TABLE chat_messages DROP COLUMN IF EXISTS lease_expires_at;
--bun:split
ALTER TABLE chat_messages DROP COLUMN IF EXISTS owner_id;
