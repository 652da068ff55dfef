-- An HL7 v2 message is stored before its AA and applied after it: 'received' is a message
-- acknowledged whose FHIR is not in the intake yet. The listener applies them in the
-- background and, after a restart, from this table.
ALTER TABLE hl7_messages DROP CONSTRAINT hl7_messages_status_check;
ALTER TABLE hl7_messages ADD CONSTRAINT hl7_messages_status_check
    CHECK (status IN ('received', 'accepted', 'failed', 'ignored'));

CREATE INDEX hl7_messages_received ON hl7_messages (id) WHERE status = 'received';
