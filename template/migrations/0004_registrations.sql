-- Registrations waiting for their address to be confirmed (APP_VERIFY_EMAIL):
-- the account is created only when the token mailed to the address comes
-- back. Tokens are stored only as SHA-256 hashes (AUTH-05).
{%- if database == "postgres" %}
CREATE TABLE pending_registrations (
    token_hash BYTEA PRIMARY KEY,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
{%- else %}
CREATE TABLE pending_registrations (
    token_hash BLOB PRIMARY KEY,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
{%- endif %}

CREATE INDEX pending_registrations_email ON pending_registrations (email);
CREATE INDEX pending_registrations_expires_at ON pending_registrations (expires_at);
