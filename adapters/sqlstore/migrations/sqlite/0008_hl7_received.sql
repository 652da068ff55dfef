-- An HL7 v2 message is stored before its AA and applied after it: 'received' is a message
-- acknowledged whose FHIR is not in the intake yet. The listener applies them in the
-- background and, after a restart, from this table. SQLite cannot alter a CHECK: the table
-- is rebuilt. Keep it in step with migrations/postgres.
CREATE TABLE hl7_messages_new (
    id           INTEGER PRIMARY KEY,
    sender       TEXT    NOT NULL,
    control_id   TEXT    NOT NULL,
    message_type TEXT    NOT NULL,
    raw          BLOB    NOT NULL,
    charset      TEXT    NOT NULL,
    hash         TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('received', 'accepted', 'failed', 'ignored')),
    ack          TEXT    NOT NULL,
    error        TEXT    NOT NULL DEFAULT '',
    received_at  INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (sender, control_id)
) STRICT;
INSERT INTO hl7_messages_new SELECT id, sender, control_id, message_type, raw, charset, hash, status, ack, error, received_at, updated_at FROM hl7_messages;
DROP TABLE hl7_messages;
ALTER TABLE hl7_messages_new RENAME TO hl7_messages;

CREATE INDEX hl7_messages_failed ON hl7_messages (id) WHERE status = 'failed';
CREATE INDEX hl7_messages_received ON hl7_messages (id) WHERE status = 'received';
