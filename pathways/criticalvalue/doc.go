// Package criticalvalue is the critical-value (危急值) core: it finds critical lab and imaging
// results among a patient's facts, makes one record per critical value, routes it to the
// responsible ward or clinic, escalates it until a named receiver acknowledges it with a
// read-back, and keeps every hand-off as an event (the national 危急值报告制度; domain.md §2).
//
// It is pure (package pathways describes the contract): Engine.Apply takes the patient's state
// and facts and returns the new state, the records, the notices and the next wake-up time;
// Acknowledge, Handle and Close are the human actions.
//
// # Detection
//
// Facts of kind result (Observations, those contained in a DiagnosticReport, and their
// components) and imaging (DiagnosticReports from a PACS) count when final, amended or
// corrected (preliminary ones too with count_preliminary). A result is critical by, in this
// order: an interpretation HH, LL or AA in v3-ObservationInterpretation; the source's own flag
// (ResultData.Critical / ImagingData.Critical, set by the mapping profile); a local rule of the
// configuration (code, unit with conversions, limits, age band and sex); for imaging, a
// conclusion code in the configured finding list. A lab report's own flag counts only when
// none of its results is critical. A rule that cannot judge a value (no unit, a unit that does
// not convert, an unknown birth date or sex) says why in Skipped; the flags still count.
//
// # One record, not five
//
// Critical results of one patient with one code in one encounter (inferred from the release
// time when the result names none), released within the dedup window (24 h) of the first, are
// one record. The grouping is recomputed from the facts at every Apply, so it does not depend
// on the order results arrived in. The record's id is a hash of the patient and its first
// result's Key. Should a result released earlier in the same window arrive later (a
// back-fill), it becomes the first: the record takes the new id and keeps the old one as an
// alias that Acknowledge, Handle and Close still accept. The reported value (what the
// read-back must repeat) is the first result's. A corrected or amended result adds an
// `updated` event (notice critical-value.updated). When the first result is withdrawn
// (entered in error) or corrected to a value that is not critical, the record is recalled
// (notice critical-value.recalled, excluded from the QC counts), with the reason; further
// critical results of the group, if any, make a new record that is notified afresh, since the
// value read back was the wrong one.
//
// # Routing
//
// The care setting is the encounter's (inpatient, outpatient, emergency; outpatient when no
// encounter is known). Inpatients: the department and ward the patient was in at the release
// (admission, then transfers) and the attending. Outpatients: the ordering department (of the
// order's encounter) and clinician (the order's requester, from ResultData.BasedOn).
// Emergency: routing.emergency ed (routing.ed_department, else the emergency encounter's own
// department) or ordering.
//
// # The loop
//
// detected → notified → acknowledged → handled → closed, and the side states recalled and
// unreachable. A new record is notified in the Apply that detects it: notification is the
// delivery of that outcome's notices to the live stream, so notified_at is that Apply's time,
// and the critical-value.detected notice (status detected) is followed by
// critical-value.notified. The escalation chain is anchored at the release time (the result's
// issued time): each step fires at release + its offset (notice critical-value.escalated at
// that deadline, even when it passed before the result arrived: a late result fires its
// passed steps at once) until the record is acknowledged; after the last step and the grace
// (unreachable_after) it is unreachable (notice critical-value.unreachable); a late
// acknowledgement is still taken. Handling closes the record when auto_close is on (the
// default; the API has no close endpoint), else Close does.
//
// Acknowledge checks the read-back; a wrong one is refused with EINVALID and recorded as a
// read-back-failed event, so on that error the returned Outcome must still be stored.
package criticalvalue
