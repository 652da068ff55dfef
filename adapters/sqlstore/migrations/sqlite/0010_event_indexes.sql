-- Nothing reads events by time alone, and every index costs each completion a write. Both
-- reads of events are by patient; events_patient serves them (its rowid is the position).
DROP INDEX events_at;
