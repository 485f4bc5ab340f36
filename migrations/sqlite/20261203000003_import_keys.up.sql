-- SQLite twin of postgres/20261203000003_import_keys.up.sql.
CREATE TABLE import_keys (
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    "key"        TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    result       TEXT NOT NULL CHECK (json_valid(result)),
    created_at   TEXT NOT NULL,
    PRIMARY KEY (user_id, "key")
) STRICT;
