-- HL7 v2 messages as received over MLLP: the raw text (in its character set), the key a
-- duplicate is recognised by (sender and MSH-10), and what became of it. The FHIR made of a
-- message is in messages/resources like any other; this table is the message itself.
-- Keep it in step with migrations/sqlite.
CREATE TABLE hl7_messages (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sender       TEXT   NOT NULL,
    control_id   TEXT   NOT NULL,
    message_type TEXT   NOT NULL,
    raw          BYTEA  NOT NULL,
    charset      TEXT   NOT NULL,
    hash         TEXT   NOT NULL,
    status       TEXT   NOT NULL CHECK (status IN ('accepted', 'failed', 'ignored')),
    ack          TEXT   NOT NULL,
    error        TEXT   NOT NULL DEFAULT '',
    received_at  BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (sender, control_id)
);

-- Replay walks the failed messages in id order.
CREATE INDEX hl7_messages_failed ON hl7_messages (id) WHERE status = 'failed';
