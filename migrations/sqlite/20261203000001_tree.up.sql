-- SQLite twin of postgres/20261203000001_tree.up.sql.
ALTER TABLE chat_sessions ADD COLUMN current_message_id TEXT;
--bun:split
UPDATE chat_sessions SET current_message_id = (
    SELECT m.id FROM chat_messages m WHERE m.session_id = chat_sessions.id ORDER BY m.created_at DESC, m.id DESC LIMIT 1
);
--bun:split
CREATE INDEX chat_messages_parent_created_idx ON chat_messages (parent_id, created_at, id);
--bun:split
DROP INDEX chat_messages_parent_id_idx;
--bun:split
CREATE INDEX chat_messages_roots_idx ON chat_messages (session_id, created_at, id) WHERE parent_id IS NULL;
--bun:split
-- Walks up the tree read a message's parent from this index alone (one
-- B-tree descent per step, not the key's index and then the table).
CREATE INDEX chat_messages_id_parent_idx ON chat_messages (id, parent_id);
