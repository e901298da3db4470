-- Login jail, second budget (AUTH-03): the network of the account's last
-- successful login gets failures, lockouts and a lock of its own, so that
-- strangers locking the account elsewhere do not lock its owner out at home.
ALTER TABLE users ADD COLUMN known_network TEXT;
ALTER TABLE users ADD COLUMN known_failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN known_lockouts INTEGER NOT NULL DEFAULT 0;
{%- if database == "postgres" %}
ALTER TABLE users ADD COLUMN known_locked_until TIMESTAMPTZ;
{%- else %}
ALTER TABLE users ADD COLUMN known_locked_until TEXT;
{%- endif %}
