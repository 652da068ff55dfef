-- A core's pending run: new events arrived that the core has not read yet and its run was
-- coalesced (unix µs of when it is due; NULL when nothing waits). A run that stores its result
-- clears it; the timers after a restart are the earlier of wake and dirty.
ALTER TABLE core_state ADD COLUMN dirty INTEGER;

-- The sweeper finds due marks by time.
CREATE INDEX core_state_dirty ON core_state (dirty) WHERE dirty IS NOT NULL;

-- The insertion position of an event is its rowid (events are never updated or deleted); the
-- index on (patient, …) finds a patient's events after a position.
