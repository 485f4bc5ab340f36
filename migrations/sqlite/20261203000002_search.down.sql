DROP TRIGGER IF EXISTS chat_messages_fts_insert;
--bun:split
DROP TRIGGER IF EXISTS chat_messages_fts_update;
--bun:split
DROP TRIGGER IF EXISTS chat_messages_fts_ids_delete;
--bun:split
DROP TABLE IF EXISTS chat_messages_fts;
--bun:split
DROP TABLE IF EXISTS chat_messages_fts_ids;
