DROP INDEX IF EXISTS chat_messages_id_parent_idx;
--bun:split
DROP INDEX IF EXISTS chat_messages_roots_idx;
--bun:split
CREATE INDEX IF NOT EXISTS chat_messages_parent_id_idx ON chat_messages (parent_id);
--bun:split
DROP INDEX IF EXISTS chat_messages_parent_created_idx;
--bun:split
ALTER TABLE chat_sessions DROP COLUMN current_message_id;
