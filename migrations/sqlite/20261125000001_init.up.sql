-- SQLite twin of postgres/20261125000001_init.up.sql: same tables, columns,
-- constraints and indexes. Ids are canonical UUID text, timestamps UTC text
-- written by bun ("2006-01-02 15:04:05.999-07:00", always +00:00, so text
-- order is time order), JSON is text, booleans are 0/1. STRICT makes SQLite
-- refuse values of the wrong type, as PostgreSQL does.
CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('user', 'admin')),
    created_at    TEXT NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
) STRICT;
--bun:split
CREATE TABLE chat_sessions (
    id              TEXT PRIMARY KEY NOT NULL,
    user_id         TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title           TEXT    NOT NULL DEFAULT '',
    llm_provider    TEXT    NOT NULL CHECK (llm_provider IN ('LOCAL', 'OPENROUTER')),
    llm_model       TEXT    NOT NULL,
    settings        TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(settings)),
    is_active       INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    message_count   INTEGER NOT NULL DEFAULT 0 CHECK (message_count >= 0),
    last_message_at TEXT,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
) STRICT;
--bun:split
CREATE INDEX chat_sessions_user_id_idx ON chat_sessions (user_id);
--bun:split
CREATE INDEX chat_sessions_llm_provider_idx ON chat_sessions (llm_provider);
--bun:split
CREATE INDEX chat_sessions_llm_model_idx ON chat_sessions (llm_model);
--bun:split
CREATE INDEX chat_sessions_created_at_idx ON chat_sessions (created_at);
--bun:split
CREATE INDEX chat_sessions_user_id_is_active_idx ON chat_sessions (user_id, is_active);
--bun:split
-- Serves "newest activity first": the list orders by exactly this expression.
CREATE INDEX chat_sessions_activity_idx ON chat_sessions (COALESCE(last_message_at, created_at) DESC, id DESC);
--bun:split
CREATE TABLE session_participants (
    session_id TEXT NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('owner', 'member', 'viewer')),
    created_at TEXT NOT NULL,
    PRIMARY KEY (session_id, user_id)
) STRICT;
--bun:split
CREATE INDEX session_participants_user_id_idx ON session_participants (user_id);
--bun:split
CREATE TABLE chat_messages (
    id               TEXT PRIMARY KEY NOT NULL,
    session_id       TEXT    NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
    user_id          TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    parent_id        TEXT    REFERENCES chat_messages (id) ON DELETE SET NULL,
    role             TEXT    NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
    content          TEXT    NOT NULL,
    llm_provider     TEXT    NOT NULL CHECK (llm_provider IN ('LOCAL', 'OPENROUTER')),
    llm_model        TEXT    NOT NULL,
    response_time_ms INTEGER CHECK (response_time_ms IS NULL OR response_time_ms >= 0),
    tokens_used      INTEGER CHECK (tokens_used IS NULL OR tokens_used > 0),
    error_message    TEXT,
    status           TEXT    NOT NULL
        CHECK (status IN ('pending', 'streaming', 'completed', 'failed', 'cancelled', 'interrupted')),
    message_metadata TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(message_metadata)),
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL
) STRICT;
--bun:split
CREATE INDEX chat_messages_session_id_idx ON chat_messages (session_id);
--bun:split
CREATE INDEX chat_messages_role_idx ON chat_messages (role);
--bun:split
CREATE INDEX chat_messages_created_at_idx ON chat_messages (created_at);
--bun:split
CREATE INDEX chat_messages_llm_provider_idx ON chat_messages (llm_provider);
--bun:split
CREATE INDEX chat_messages_session_id_created_at_idx ON chat_messages (session_id, created_at);
--bun:split
-- Foreign-key columns get an index so cascades and SET NULL do not scan the table.
CREATE INDEX chat_messages_user_id_idx ON chat_messages (user_id);
--bun:split
CREATE INDEX chat_messages_parent_id_idx ON chat_messages (parent_id);
--bun:split
-- The start-up repair looks for unfinished replies only; keep that cheap as history grows.
CREATE INDEX chat_messages_unfinished_idx ON chat_messages (status) WHERE status IN ('pending', 'streaming');
--bun:split
CREATE TABLE refresh_tokens (
    id         TEXT PRIMARY KEY NOT NULL,
    family_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    revoked_at TEXT,
    created_at TEXT NOT NULL,
    CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash)
) STRICT;
--bun:split
CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);
--bun:split
CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id);
--bun:split
CREATE TABLE idempotency_keys (
    user_id              TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    "key"                TEXT NOT NULL,
    request_hash         TEXT NOT NULL,
    user_message_id      TEXT NOT NULL REFERENCES chat_messages (id) ON DELETE CASCADE,
    assistant_message_id TEXT REFERENCES chat_messages (id) ON DELETE SET NULL,
    created_at           TEXT NOT NULL,
    PRIMARY KEY (user_id, "key")
) STRICT;
--bun:split
CREATE INDEX idempotency_keys_user_message_id_idx ON idempotency_keys (user_message_id);
--bun:split
CREATE INDEX idempotency_keys_assistant_message_id_idx ON idempotency_keys (assistant_message_id);
