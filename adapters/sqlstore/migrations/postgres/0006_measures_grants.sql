-- QC indicator rows (measures) written with the cores' records, and token grants.
-- Keep it in step with migrations/sqlite.

-- One row per record and indicator: the record is in the indicator's denominator, its
-- numerator, or excluded; value for continuous indicators (a median). Replaced per
-- (core, patient) with the records in SaveCore.
CREATE TABLE measures (
    core        TEXT    NOT NULL,
    patient     TEXT    NOT NULL,
    record      TEXT    NOT NULL,
    indicator   TEXT    NOT NULL,
    at          BIGINT  NOT NULL,
    hospital    TEXT    NOT NULL,
    department  TEXT    NOT NULL,
    setting     TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    denominator INTEGER NOT NULL,
    numerator   INTEGER NOT NULL,
    excluded    INTEGER NOT NULL,
    value       DOUBLE PRECISION
);

-- SaveCore replaces a patient's rows of one core.
CREATE INDEX measures_owner ON measures (core, patient);
-- The report: every indicator over a period, summed by stratum from this index alone
-- (covering, for index-only scans). It is in the GROUP BY's order, so the rows need no sort
-- (sorting a million rows cost SQLite seconds); the period filters the scan. Its prefix also
-- answers "insufficient data": did the indicator ever have rows, numerator rows, for a hospital.
CREATE INDEX measures_period ON measures (indicator, hospital, department, setting, at, denominator, numerator, excluded, value);
-- Is a department known at all (an unknown one is a 404, not an empty table).
CREATE INDEX measures_department ON measures (department);

-- Permissions beyond the role, a JSON array (e.g. ["subjects"]).
ALTER TABLE tokens ADD COLUMN grants TEXT NOT NULL DEFAULT '[]';
