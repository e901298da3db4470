-- Login jail (AUTH-03): failures since the last success or lockout, lockouts
-- so far (each doubles the next window), and until when the account is refused.
ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN lockouts INTEGER NOT NULL DEFAULT 0;
{%- if database == "postgres" %}
ALTER TABLE users ADD COLUMN locked_until TIMESTAMPTZ;
{%- else %}
ALTER TABLE users ADD COLUMN locked_until TEXT;
{%- endif %}
