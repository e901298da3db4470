-- Calling applications (AUTH-08). A key is stored only as its SHA-256 hash;
-- `scopes` bounds what the application may call, whoever its user is.
-- Revoking ends the key; an administrator's disable blocks the application.
CREATE TABLE applications (
{%- if database == "postgres" %}
    id UUID PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    key_hash BYTEA NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
{%- else %}
    id BLOB PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    key_hash BLOB NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
{%- endif %}
);
