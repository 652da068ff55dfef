-- The clinical cores' state and records, the live stream and webhook deliveries.
-- Keep it in step with migrations/postgres.

-- One state document per core and patient; version counts saves (optimistic concurrency
-- between the worker and clinicians' actions); wake is when the core must run again; digest
-- identifies what the last run produced, so an unchanged run is not written again.
CREATE TABLE core_state (
    core    TEXT    NOT NULL,
    patient TEXT    NOT NULL,
    state   BLOB    NOT NULL,
    version INTEGER NOT NULL,
    wake    INTEGER,
    digest  TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (core, patient)
) STRICT;

CREATE INDEX core_state_wake ON core_state (wake) WHERE wake IS NOT NULL;

-- The read side of the cores: pathway instances, critical values, follow-up contacts.
CREATE TABLE records (
    kind       TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    core       TEXT    NOT NULL,
    patient    TEXT    NOT NULL,
    encounter  TEXT    NOT NULL,
    department TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    hospital   TEXT    NOT NULL,
    opened     INTEGER NOT NULL,
    closed     INTEGER,
    body       BLOB    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
) STRICT;

CREATE INDEX records_patient ON records (core, patient);
CREATE INDEX records_status ON records (kind, status, department);
CREATE INDEX records_opened ON records (kind, opened);

-- The live stream: id is the position readers resume from.
CREATE TABLE stream (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    record     TEXT    NOT NULL,
    patient    TEXT    NOT NULL,
    department TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    data       BLOB    NOT NULL
) STRICT;

CREATE TABLE webhooks (
    id          TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    url         TEXT    NOT NULL,
    secret      TEXT    NOT NULL,
    events      TEXT    NOT NULL, -- JSON array of name prefixes
    departments TEXT    NOT NULL, -- JSON array
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook     TEXT    NOT NULL,
    event       INTEGER NOT NULL REFERENCES stream (id),
    status      TEXT    NOT NULL,
    attempts    INTEGER NOT NULL,
    next_at     INTEGER NOT NULL,
    last_error  TEXT    NOT NULL,
    last_status INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX deliveries_due ON deliveries (next_at) WHERE status = 'pending';
CREATE INDEX deliveries_status ON deliveries (status, id);
