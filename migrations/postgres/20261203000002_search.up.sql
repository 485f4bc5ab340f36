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
CREATE INDEX IF NOT EXISTS chat_messages_search_idx ON chat_messages USING gin (search_vector);
