CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text        NOT NULL,
    display_name  text        NOT NULL,
    password_hash text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('user', 'admin')),
    created_at    timestamptz NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
);
--bun:split
CREATE TABLE chat_sessions (
    id              uuid PRIMARY KEY,
    user_id         uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title           text        NOT NULL DEFAULT '',
    llm_provider    text        NOT NULL CHECK (llm_provider IN ('LOCAL', 'OPENROUTER')),
    llm_model       text        NOT NULL,
    settings        jsonb       NOT NULL DEFAULT '{}',
    is_active       boolean     NOT NULL DEFAULT true,
    message_count   integer     NOT NULL DEFAULT 0 CHECK (message_count >= 0),
    last_message_at timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
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
CREATE INDEX chat_sessions_activity_idx ON chat_sessions ((COALESCE(last_message_at, created_at)) DESC, id DESC);
--bun:split
CREATE TABLE session_participants (
    session_id uuid        NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text        NOT NULL CHECK (role IN ('owner', 'member', 'viewer')),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (session_id, user_id)
);
--bun:split
CREATE INDEX session_participants_user_id_idx ON session_participants (user_id);
--bun:split
CREATE TABLE chat_messages (
    id               uuid PRIMARY KEY,
    session_id       uuid        NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
    user_id          uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    parent_id        uuid        REFERENCES chat_messages (id) ON DELETE SET NULL,
    role             text        NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
    content          text        NOT NULL,
    llm_provider     text        NOT NULL CHECK (llm_provider IN ('LOCAL', 'OPENROUTER')),
    llm_model        text        NOT NULL,
    response_time_ms integer     CHECK (response_time_ms IS NULL OR response_time_ms >= 0),
    tokens_used      integer     CHECK (tokens_used IS NULL OR tokens_used > 0),
    error_message    text,
    status           text        NOT NULL
        CHECK (status IN ('pending', 'streaming', 'completed', 'failed', 'cancelled', 'interrupted')),
    message_metadata jsonb       NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
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
    id         uuid PRIMARY KEY,
    family_id  uuid        NOT NULL,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash text        NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL,
    CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash)
);
--bun:split
CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);
--bun:split
CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id);
--bun:split
CREATE TABLE idempotency_keys (
    user_id              uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    "key"                text        NOT NULL,
    request_hash         text        NOT NULL,
    user_message_id      uuid        NOT NULL REFERENCES chat_messages (id) ON DELETE CASCADE,
    assistant_message_id uuid        REFERENCES chat_messages (id) ON DELETE SET NULL,
    created_at           timestamptz NOT NULL,
    PRIMARY KEY (user_id, "key")
);
--bun:split
CREATE INDEX idempotency_keys_user_message_id_idx ON idempotency_keys (user_message_id);
--bun:split
CREATE INDEX idempotency_keys_assistant_message_id_idx ON idempotency_keys (assistant_message_id);
