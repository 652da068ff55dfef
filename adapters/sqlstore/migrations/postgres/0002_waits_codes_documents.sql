-- Parked messages' waits, data-quality flags, event keys, unmapped codes and configuration
-- documents.
-- Keep it in step with migrations/sqlite.

-- The data-quality remarks of a message's last verdict: a JSON array of strings, NULL when none.
-- Nullable without a default, so adding it rewrites nothing.
ALTER TABLE messages ADD COLUMN flags TEXT;

-- The fact an event states (its key) and the resource version it was mapped from: of the events
-- of a key, the one of the highest version is in force. Events stored before have '' and 0.
ALTER TABLE events ADD COLUMN key TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

-- What each parked message waits for: a "Type/id" reference. Rows exist only while the message
-- is parked; whatever sets it back to received deletes them. Unpark looks up by ref (the
-- primary key), and the index finds a message's rows.
CREATE TABLE message_waits (
    ref        TEXT   NOT NULL,
    message_id BIGINT NOT NULL REFERENCES messages (id),
    PRIMARY KEY (ref, message_id)
);

CREATE INDEX message_waits_message ON message_waits (message_id);

-- Codes no code map knew, counted once per completed message that reported them, per source.
-- display is the latest non-empty one seen.
CREATE TABLE unmapped_codes (
    system     TEXT   NOT NULL,
    code       TEXT   NOT NULL,
    source     TEXT   NOT NULL,
    display    TEXT   NOT NULL,
    count      BIGINT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    PRIMARY KEY (system, code, source)
);

-- Configuration documents (code maps, pathway definitions, templates…), the body as uploaded.
CREATE TABLE documents (
    kind       TEXT   NOT NULL,
    id         TEXT   NOT NULL,
    version    TEXT   NOT NULL,
    body       BYTEA  NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT   NOT NULL,
    PRIMARY KEY (kind, id)
);
