DROP TRIGGER IF EXISTS session_participants_search_changed ON session_participants;
--bun:split
DROP TRIGGER IF EXISTS chat_messages_search_written ON chat_messages;
--bun:split
DROP FUNCTION IF EXISTS chatd_search_participant_changed();
--bun:split
DROP FUNCTION IF EXISTS chatd_search_message_written();
--bun:split
DROP TABLE IF EXISTS message_search;
--bun:split
ALTER TABLE chat_messages DROP COLUMN IF EXISTS search_vector;
