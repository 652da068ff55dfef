-- Every index of events costs each completion an index insertion and its WAL, and events are
-- the largest table. Both reads of events are by patient (Events, EventsSince), which
-- events_patient_id serves: a patient's events are few enough to sort. Nothing reads events
-- by time alone.
DROP INDEX events_at;
DROP INDEX events_patient;
