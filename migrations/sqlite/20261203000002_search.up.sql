-- SQLite side of postgres/20261203000002_search.up.sql: the same words,
-- kept in step by triggers, so a write and its index change commit together.
--
-- The words are domain.SearchDocument's, computed in Go by the function
-- chatd_search_document (registered with the driver by the storage package):
-- FTS5's own tokenizers carry Unicode 6.1 tables and fold case unlike
-- PostgreSQL, so here FTS5 only splits the prepared words at spaces (the
-- ascii tokenizer: every non-ASCII character is part of a word).
--
-- FTS5 rows are keyed by an integer. chat_messages has a TEXT primary key, so
-- its implicit rowid may change on VACUUM; chat_messages_fts_ids gives each
-- message an INTEGER PRIMARY KEY instead, which is the rowid and never
-- changes. Deleting a message (directly, or through its session or author)
-- cascades to its id row, whose trigger removes the words.
CREATE TABLE IF NOT EXISTS chat_messages_fts_ids (
    fts_rowid  INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE REFERENCES chat_messages (id) ON DELETE CASCADE
) STRICT;
--bun:split
-- Contentless: the text stays in chat_messages only; snippets are made in Go.
CREATE VIRTUAL TABLE IF NOT EXISTS chat_messages_fts USING fts5(
    words, content = '', contentless_delete = 1, tokenize = 'ascii', prefix = '2 3'
);
--bun:split
CREATE TRIGGER IF NOT EXISTS chat_messages_fts_insert AFTER INSERT ON chat_messages BEGIN
    INSERT INTO chat_messages_fts_ids (message_id) VALUES (new.id);
    INSERT INTO chat_messages_fts (rowid, words)
        SELECT i.fts_rowid, chatd_search_document(new.content) FROM chat_messages_fts_ids i WHERE i.message_id = new.id;
END;
--bun:split
CREATE TRIGGER IF NOT EXISTS chat_messages_fts_update AFTER UPDATE OF content ON chat_messages
WHEN old.content IS NOT new.content BEGIN
    DELETE FROM chat_messages_fts WHERE rowid = (SELECT i.fts_rowid FROM chat_messages_fts_ids i WHERE i.message_id = new.id);
    INSERT INTO chat_messages_fts (rowid, words)
        SELECT i.fts_rowid, chatd_search_document(new.content) FROM chat_messages_fts_ids i WHERE i.message_id = new.id;
END;
--bun:split
CREATE TRIGGER IF NOT EXISTS chat_messages_fts_ids_delete AFTER DELETE ON chat_messages_fts_ids BEGIN
    DELETE FROM chat_messages_fts WHERE rowid = old.fts_rowid;
END;
--bun:split
-- Index what is already stored. Migrations run statement by statement, so
-- each step skips what a failed earlier run may have done.
INSERT OR IGNORE INTO chat_messages_fts_ids (message_id) SELECT id FROM chat_messages ORDER BY created_at, id;
--bun:split
INSERT INTO chat_messages_fts (rowid, words)
SELECT i.fts_rowid, chatd_search_document(m.content)
FROM chat_messages_fts_ids i JOIN chat_messages m ON m.id = i.message_id
WHERE i.fts_rowid NOT IN (SELECT rowid FROM chat_messages_fts);
