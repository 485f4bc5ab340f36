-- The conversation tree: a session remembers the message on screen (the
-- newest of the branch shown), and children are found by parent in time
-- order. Sessions made before this migration were straight lines, so their
-- current message is their newest one.
ALTER TABLE chat_sessions ADD COLUMN current_message_id uuid;
--bun:split
UPDATE chat_sessions s SET current_message_id = (
    SELECT m.id FROM chat_messages m WHERE m.session_id = s.id ORDER BY m.created_at DESC, m.id DESC LIMIT 1
);
--bun:split
-- Children of a message, oldest first (sibling_ids, newest-leaf walks); the
-- old single-column parent index is covered by this one.
CREATE INDEX chat_messages_parent_created_idx ON chat_messages (parent_id, created_at, id);
--bun:split
DROP INDEX chat_messages_parent_id_idx;
--bun:split
-- Roots of a session (messages without a parent), for the same walks.
CREATE INDEX chat_messages_roots_idx ON chat_messages (session_id, created_at, id) WHERE parent_id IS NULL;
--bun:split
-- Walks up the tree read a message's parent from this index alone.
CREATE INDEX chat_messages_id_parent_idx ON chat_messages (id) INCLUDE (parent_id);
