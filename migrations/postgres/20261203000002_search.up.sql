-- Full-text search of messages. The words PostgreSQL indexes are the ones
-- domain.SearchDocument computes in Go (and SQLite indexes): every run of
-- characters that are not [[:alnum:]] becomes one space, so the 'simple'
-- parser sees plain words (never e-mail addresses, URLs, hyphenated words,
-- decimals or tags), and lower(upper()) folds case as Go does (ς and σ, ſ
-- and s fall together; accents stay). Checked character by character: under
-- C.UTF-8 both agree on every letter and digit of Unicode 14.
--
-- Classes and case come from the C.UTF-8 collation when the server has one,
-- whatever the database's own locale: in a database created with LC_CTYPE C,
-- [[:alnum:]] would be ASCII only and é would vanish from the index. Without
-- it, the database's locale must do (a UTF-8 one does); else this fails
-- rather than index nothing but ASCII.
--
-- Only the first 32000 characters count (domain.SearchIndexedChars), which
-- keeps a long reply inside tsvector's limits (1 MB, 16383 positions).
-- A stored generated column is rewritten by the very statement that writes
-- the content, so an edit or a delete is seen by the next search; adding it
-- computes it for every existing message.
DO $search$
DECLARE
    coll text;
    ok   boolean := false;
BEGIN
    FOR coll IN
        SELECT quote_ident(c.collname) FROM pg_collation c
        WHERE c.collprovider = 'c' AND lower(c.collctype) IN ('c.utf8', 'c.utf-8')
          AND c.collencoding IN (-1, (SELECT encoding FROM pg_database WHERE datname = current_database()))
        UNION ALL SELECT 'pg_catalog."default"'
    LOOP
        EXECUTE format($check$SELECT lower(upper('ÉΣ Д' COLLATE %1$s)) = 'éσ д'
            AND regexp_replace('é-Д' COLLATE %1$s, '[^[:alnum:]]+', ' ', 'g') = 'é Д'$check$, coll) INTO ok;
        EXIT WHEN ok;
    END LOOP;
    IF NOT ok THEN
        RAISE EXCEPTION 'message search needs a UTF-8 locale: create the database with LC_CTYPE C.UTF-8 (or another UTF-8 locale)';
    END IF;
    EXECUTE format($ddl$ALTER TABLE chat_messages ADD COLUMN IF NOT EXISTS search_vector tsvector
        GENERATED ALWAYS AS (
            to_tsvector('simple'::regconfig,
                lower(upper(regexp_replace(left(content, 32000) COLLATE %s, '[^[:alnum:]]+', ' ', 'g'))))
        ) STORED$ddl$, coll);
END
$search$;
--bun:split
-- What each user may search: one row per message and participant, holding
-- the message's words, with a GIN index that starts from the user. A search
-- then reads the caller's matches only: a text index on chat_messages alone
-- would find every user's matches and filter them on the heap (at 1,000,000
-- messages a two-word query read 20,000 pages for 3,800 rows of the caller).
-- Triggers keep it in step with messages and participants, in the same
-- transactions; deletes cascade.
CREATE EXTENSION IF NOT EXISTS btree_gin;
--bun:split
CREATE TABLE IF NOT EXISTS message_search (
    user_id       uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message_id    uuid        NOT NULL REFERENCES chat_messages (id) ON DELETE CASCADE,
    session_id    uuid        NOT NULL,
    created_at    timestamptz NOT NULL,
    search_vector tsvector    NOT NULL,
    PRIMARY KEY (user_id, message_id)
);
--bun:split
CREATE INDEX IF NOT EXISTS message_search_words_idx ON message_search USING gin (user_id, search_vector);
--bun:split
CREATE INDEX IF NOT EXISTS message_search_message_idx ON message_search (message_id);
--bun:split
CREATE INDEX IF NOT EXISTS message_search_session_idx ON message_search (session_id, user_id);
--bun:split
CREATE OR REPLACE FUNCTION chatd_search_message_written() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO message_search (user_id, message_id, session_id, created_at, search_vector)
        SELECT p.user_id, NEW.id, NEW.session_id, NEW.created_at, NEW.search_vector
        FROM session_participants p WHERE p.session_id = NEW.session_id
        ON CONFLICT DO NOTHING;
    ELSIF NEW.search_vector IS DISTINCT FROM OLD.search_vector THEN
        UPDATE message_search SET search_vector = NEW.search_vector WHERE message_id = NEW.id;
    END IF;
    RETURN NULL;
END
$fn$;
--bun:split
CREATE OR REPLACE TRIGGER chat_messages_search_written AFTER INSERT OR UPDATE OF content ON chat_messages
FOR EACH ROW EXECUTE FUNCTION chatd_search_message_written();
--bun:split
CREATE OR REPLACE FUNCTION chatd_search_participant_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO message_search (user_id, message_id, session_id, created_at, search_vector)
        SELECT NEW.user_id, m.id, m.session_id, m.created_at, m.search_vector
        FROM chat_messages m WHERE m.session_id = NEW.session_id
        ON CONFLICT DO NOTHING;
        RETURN NULL;
    END IF;
    DELETE FROM message_search WHERE session_id = OLD.session_id AND user_id = OLD.user_id;
    RETURN NULL;
END
$fn$;
--bun:split
CREATE OR REPLACE TRIGGER session_participants_search_changed AFTER INSERT OR DELETE ON session_participants
FOR EACH ROW EXECUTE FUNCTION chatd_search_participant_changed();
--bun:split
-- What is already stored.
INSERT INTO message_search (user_id, message_id, session_id, created_at, search_vector)
SELECT p.user_id, m.id, m.session_id, m.created_at, m.search_vector
FROM chat_messages m JOIN session_participants p ON p.session_id = m.session_id
ON CONFLICT DO NOTHING;
