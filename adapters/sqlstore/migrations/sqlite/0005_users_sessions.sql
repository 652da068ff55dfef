-- Web workspace accounts and their sessions. Keep it in step with migrations/postgres.

-- A person who signs in. departments is a JSON array of strings (empty: hospital-wide);
-- password_hash is bcrypt, empty for single sign-on only.
CREATE TABLE users (
    id            TEXT    PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    role          TEXT    NOT NULL,
    hospital      TEXT    NOT NULL,
    departments   TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    disabled_at   INTEGER
) STRICT;

-- A signed-in browser: only the hash of the cookie's secret.
CREATE TABLE sessions (
    hash       TEXT    PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
