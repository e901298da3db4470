-- Identifiers are random UUIDs (PROC-03); timestamps are UTC. Sensitive
-- columns (shipping_address) hold AES-256-GCM sealed values (AUTH-05).
{%- if database == "postgres" %}
CREATE TABLE users (
    id UUID PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE sessions (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);

-- Refresh tokens are stored only as SHA-256 hashes; a used one stays as a
-- tombstone so that its reuse can be detected.
CREATE TABLE refresh_tokens (
    token_hash BYTEA PRIMARY KEY,
    session_id UUID NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);

CREATE TABLE orders (
    id UUID PRIMARY KEY,
    owner_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    item TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    note TEXT,
    shipping_address BYTEA,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
{%- else %}
CREATE TABLE users (
    id BLOB PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL
);

CREATE TABLE sessions (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);

-- Refresh tokens are stored only as SHA-256 hashes; a used one stays as a
-- tombstone so that its reuse can be detected.
CREATE TABLE refresh_tokens (
    token_hash BLOB PRIMARY KEY,
    session_id BLOB NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    used_at TEXT
);

CREATE TABLE orders (
    id BLOB PRIMARY KEY,
    owner_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    item TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    note TEXT,
    shipping_address BLOB,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
{%- endif %}

CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);
CREATE INDEX orders_by_owner ON orders (owner_id, created_at DESC, id DESC);
