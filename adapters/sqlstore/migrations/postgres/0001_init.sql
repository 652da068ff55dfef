-- Lujing schema, PostgreSQL flavour. Keep it in step with migrations/sqlite.
--
-- Times are BIGINT unix microseconds, UTC, as on SQLite, so one set of queries serves both and
-- time ranges compare as integers. Optional times (source_updated, processed_at, revoked_at)
-- are NULL when absent. Bodies are BYTEA: the exact bytes received come back.

-- Every stored resource version: the inbox. id is the arrival order.
CREATE TABLE messages (
    id             BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source         TEXT    NOT NULL,
    hospital       TEXT    NOT NULL,
    resource_type  TEXT    NOT NULL,
    resource_id    TEXT    NOT NULL,
    version_id     INTEGER NOT NULL,
    hash           TEXT    NOT NULL,
    body           BYTEA,
    deleted        BOOLEAN NOT NULL,
    patient_key    TEXT    NOT NULL,
    received_at    BIGINT  NOT NULL,
    source_updated BIGINT,
    status         TEXT    NOT NULL CHECK (status IN ('received', 'processed', 'failed', 'parked', 'stale')),
    error          TEXT    NOT NULL DEFAULT '',
    applied        INTEGER NOT NULL DEFAULT 0,
    processed_at   BIGINT,
    UNIQUE (resource_type, resource_id, version_id)
);

-- Every index here is paid for by each Accept; these two are all the queries need.
-- Pending (a patient's received messages in arrival order) and Backlog (received messages,
-- grouped by patient). Partial: received messages are few once the worker keeps up.
CREATE INDEX messages_pending ON messages (patient_key, id) WHERE status = 'received';
-- Listing by status in id order (source, when also given, is checked in the index), Requeue,
-- and Counts from the index alone. Listing all messages, or one source's, walks the primary
-- key: most messages match.
CREATE INDEX messages_status ON messages (status, id, source);

-- The current version of each resource. The body is the current message's.
-- last_version is the highest version number handed out, stale versions included, so a stale
-- version never shares its number with a later current one.
-- message_id has no foreign key: only Accept writes it, in the transaction that inserts the
-- message, and checking it row by row cost PostgreSQL a tenth of Accept's time.
CREATE TABLE resources (
    resource_type  TEXT    NOT NULL,
    resource_id    TEXT    NOT NULL,
    version_id     INTEGER NOT NULL,
    last_version   INTEGER NOT NULL,
    hash           TEXT    NOT NULL,
    last_updated   BIGINT  NOT NULL,
    source_updated BIGINT,
    message_id     BIGINT  NOT NULL,
    deleted        BOOLEAN NOT NULL,
    source         TEXT    NOT NULL,
    patient_key    TEXT    NOT NULL,
    PRIMARY KEY (resource_type, resource_id)
);

-- Business identifiers, for conditional references (Organization?identifier=system|value).
CREATE TABLE identifiers (
    resource_type TEXT NOT NULL,
    system        TEXT NOT NULL,
    value         TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    PRIMARY KEY (resource_type, system, value)
);

-- Clinical events, written with the completion of the message they came from.
-- data is JSONB so QC queries can reach into it (the exact bytes are not kept).
CREATE TABLE events (
    message_id BIGINT  NOT NULL REFERENCES messages (id),
    seq        INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    patient    TEXT    NOT NULL,
    encounter  TEXT    NOT NULL,
    hospital   TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    at         BIGINT  NOT NULL,
    resource   TEXT    NOT NULL,
    data       JSONB,
    PRIMARY KEY (message_id, seq)
);

CREATE INDEX events_patient ON events (patient, at, message_id, seq);
CREATE INDEX events_at ON events (at);

-- Access tokens: only the hash of the secret. departments is a JSON array of strings.
CREATE TABLE tokens (
    id          TEXT   PRIMARY KEY,
    name        TEXT   NOT NULL UNIQUE,
    role        TEXT   NOT NULL,
    source      TEXT   NOT NULL,
    hospital    TEXT   NOT NULL,
    departments TEXT   NOT NULL,
    hash        TEXT   NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

-- Reads of patient data.
CREATE TABLE audit (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT   NOT NULL,
    role        TEXT   NOT NULL,
    action      TEXT   NOT NULL,
    resource    TEXT   NOT NULL,
    patient_key TEXT   NOT NULL,
    remote_addr TEXT   NOT NULL,
    request_id  TEXT   NOT NULL
);

CREATE INDEX audit_at ON audit (at, id);
CREATE INDEX audit_patient ON audit (patient_key, at);
