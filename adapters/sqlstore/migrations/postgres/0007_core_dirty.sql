-- A core's pending run: new events arrived that the core has not read yet and its run was
-- coalesced (unix µs of when it is due; NULL when nothing waits). A run that stores its result
-- clears it; the timers after a restart are the earlier of wake and dirty.
ALTER TABLE core_state ADD COLUMN dirty BIGINT;

-- The sweeper finds due marks by time.
CREATE INDEX core_state_dirty ON core_state (dirty) WHERE dirty IS NOT NULL;

-- The insertion position of an event, so that a reader who has a patient's events up to n reads
-- only the ones after (events are never updated or deleted). Per patient, events are inserted
-- by one worker at a time, so positions commit in order.
ALTER TABLE events ADD COLUMN id BIGSERIAL;
CREATE INDEX events_patient_id ON events (patient, id);
