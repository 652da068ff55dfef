-- Reads by patient on tables that grow with every admission. Both primary keys lead with the
-- core, so these reads scanned the whole table: the worker's PatientCores after every delivery
-- took 1.4 ms at 3,400 core states, and a year of a large hospital holds hundreds of thousands;
-- a patient's records (critical values, pathways, follow-ups) are read the same way.
CREATE INDEX core_state_patient ON core_state (patient);
CREATE INDEX records_patient_kind ON records (patient, kind);
