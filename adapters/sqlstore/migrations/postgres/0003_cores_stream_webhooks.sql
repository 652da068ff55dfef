-- The clinical cores' state and records, the live stream and webhook deliveries.
-- Keep it in step with migrations/sqlite.

-- One state document per core and patient; version counts saves (optimistic concurrency
-- between the worker and clinicians' actions); wake is when the core must run again; digest
-- identifies what the last run produced, so an unchanged run is not written again.
CREATE TABLE core_state (
    core    TEXT   NOT NULL,
    patient TEXT   NOT NULL,
    state   BYTEA  NOT NULL,
    version BIGINT NOT NULL,
    wake    BIGINT,
    digest  TEXT   NOT NULL DEFAULT '',
    PRIMARY KEY (core, patient)
);

CREATE INDEX core_state_wake ON core_state (wake) WHERE wake IS NOT NULL;

-- The read side of the cores: pathway instances, critical values, follow-up contacts.
CREATE TABLE records (
    kind       TEXT   NOT NULL,
    id         TEXT   NOT NULL,
    core       TEXT   NOT NULL,
    patient    TEXT   NOT NULL,
    encounter  TEXT   NOT NULL,
    department TEXT   NOT NULL,
    status     TEXT   NOT NULL,
    hospital   TEXT   NOT NULL,
    opened     BIGINT NOT NULL,
    closed     BIGINT,
    body       BYTEA  NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);

CREATE INDEX records_patient ON records (core, patient);
CREATE INDEX records_status ON records (kind, status, department);
CREATE INDEX records_opened ON records (kind, opened);

-- The live stream: id is the position readers resume from. Writers take an advisory lock
-- before inserting so that ids commit in order (a reader never skips a late-committing id).
CREATE TABLE stream (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT   NOT NULL,
    record     TEXT   NOT NULL,
    patient    TEXT   NOT NULL,
    department TEXT   NOT NULL,
    at         BIGINT NOT NULL,
    data       BYTEA  NOT NULL
);

CREATE TABLE webhooks (
    id          TEXT   PRIMARY KEY,
    name        TEXT   NOT NULL,
    url         TEXT   NOT NULL,
    secret      TEXT   NOT NULL,
    events      TEXT   NOT NULL,
    departments TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE deliveries (
    id          BIGSERIAL PRIMARY KEY,
    webhook     TEXT   NOT NULL,
    event       BIGINT NOT NULL REFERENCES stream (id),
    status      TEXT   NOT NULL,
    attempts    INTEGER NOT NULL,
    next_at     BIGINT NOT NULL,
    last_error  TEXT   NOT NULL,
    last_status INTEGER NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE INDEX deliveries_due ON deliveries (next_at) WHERE status = 'pending';
CREATE INDEX deliveries_status ON deliveries (status, id);
