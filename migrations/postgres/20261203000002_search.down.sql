DROP INDEX IF EXISTS chat_messages_search_idx;
--bun:split
ALTER TABLE chat_messages DROP COLUMN IF EXISTS search_vector;
