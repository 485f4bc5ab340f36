-- What a keyed import answered, so a retry with the same Idempotency-Key and
-- body answers the same and stores nothing. idempotency_keys cannot hold it:
-- its rows point at one user message, and an import stores many sessions.
CREATE TABLE import_keys (
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    "key"        text        NOT NULL,
    request_hash text        NOT NULL,
    result       jsonb       NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (user_id, "key")
);
