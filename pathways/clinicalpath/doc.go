// Package clinicalpath runs localized clinical pathways (临床路径, plan item 24): versioned
// definitions modelled on the national forms, enrolment of inpatient encounters, stages
// placed on the stay's timeline, items done from the clinical events HIS, LIS and PACS send,
// overdue items and other variances, withdrawal and completion. It is a pure core (see
// package pathways): no I/O, no clock, no adapter.
//
// # Definitions
//
// A definition is a YAML file (Parse, Check; Library has three shipped ones, Load reads a
// directory). Every problem is a *yamldoc.Error naming file, line and field.
//
//	id: acute-simple-appendicitis        # a FHIR id; the PlanDefinition's id
//	version: "2026.1"                    # quoted; instances keep the version they enrolled under
//	title: {zh: 急性单纯性阑尾炎临床路径, en: Acute simple appendicitis}
//	basis: 国家卫生健康委 …               # optional: the national form localized
//	entry:
//	  diagnoses:                         # the principal (first) diagnosis; system defaults to ICD-10
//	    - {system: http://hl7.org/fhir/sid/icd-10, prefixes: [K35]}
//	  procedures:                        # optional; ICD-9-CM-3 by default: the pathway's operations
//	    - {prefixes: ["47.0"]}
//	  age: {min: 0, max: 0}              # years at admission; max 0: no upper limit
//	  care_setting: inpatient            # default inpatient
//	  departments: [GEN-SURG]            # optional: admitting department codes
//	exclusions:
//	  diagnoses: [{prefixes: [K35.2, K65]}]  # any diagnosis recorded by enrolment time
//	standard_stay: {min: 0, max: 7}      # days
//	stages:                              # listed admission/onset, then surgery, then discharge
//	  - id: admission
//	    title: {zh: 住院第1天, en: Day 1}
//	    anchor: admission                # admission | onset | surgery | discharge
//	    from: "0"                        # window from the anchor: 0, 12h, -24h, 2d (d = 24 h)
//	    to: 2d
//	    items:
//	      - id: blood-count              # unique in the definition
//	        title: {zh: 血常规, en: Complete blood count}
//	        kind: test                   # doctor-work order test imaging nursing procedure round handover consultation mdt
//	        required: true               # default true
//	        from: "0"                    # optional: evidence earlier than this does not count; default the stage's from
//	        due: 6h                      # deadline from the anchor, inside the stage's window; required items need one
//	        variance: {source: hospital, controllable: true}   # optional; default clinician, controllable
//	        evidence:                    # any one of these completes the item
//	          - {resource: Observation, system: http://loinc.org, codes: [6690-2, 718-7]}
//	          - {resource: Observation, system: http://hospital.example/lis, codes: [XCG-WBC]}  # a local code
//	          - {resource: DocumentReference, documents: [round-attending], author: surgeon}
//
// Evidence resources are Observation (a lab result, also one contained in a report),
// DiagnosticReport (a lab or imaging report), ImagingStudy, ServiceRequest,
// MedicationRequest, Procedure, DocumentReference, Composition and Condition. Codes match
// the fact's standard code (after the code maps) or any coding as received, so a hospital
// can write its local codes; prefixes match code prefixes (K35 matches K35.800x002).
// Documents match the Lujing document kind (mapping.DocumentKindSystem) the HIS's type code
// maps to. author: surgeon requires the operating surgeon among the document's authors (for
// "the operating surgeon rounds within 24 h before and after surgery"). Check refuses an
// unknown item kind, anchor, resource or document kind; stages of one anchor whose windows
// overlap or run backwards; a code list without a code system; a deadline outside its
// stage's window; a required item without a deadline or an item without evidence.
//
// # The engine
//
// New takes every loaded version; the newest (versions compared part by part, numerically
// where both parts are numbers) enrols new patients, and each instance keeps the version it
// was enrolled under. Apply derives everything from the facts in force, so the records do
// not depend on the order facts arrived in; only the pinned version, clinicians' actions
// and the notices already sent are remembered in the state.
//
//   - Enrolment: an inpatient encounter whose principal diagnosis (the first Encounter
//     diagnosis marked principal; else a lone first Condition of the encounter) matches the
//     entry criteria, with age, care setting, department and exclusions judged on the facts
//     as they stood at enrolment time (the later of admission and diagnosis, by clinical
//     time). One instance per encounter: the first pathway by id that takes it. If later
//     facts withdraw the qualifying diagnosis, the instance is dropped (no record) unless a
//     clinician acted on it.
//   - Anchors: admission; onset (the principal diagnosis' Condition.onset, else admission);
//     surgery (the start of the first operation among entry.procedures, or of the first
//     graded operation when the definition names none; a later unplanned operation is a
//     return to theatre); discharge. A stage's window and its items' deadlines are placed
//     once the anchor is known: the operation's time moves the post-operative stages.
//   - Items: done by the earliest matching fact at or after the item's from time (evidence
//     reference and time kept); done after the deadline is done and late, and keeps the
//     overdue variance. A required item whose deadline passes undone is overdue with a
//     variance; a deadline that passed before the data arrived fires at once, with the
//     deadline as the notice's time. When the instance ends (discharge or withdrawal) the
//     items still pending are waived (their deadline had not come, or their anchor never did:
//     no operation). A notice sent on what was known is not recalled: if a fact arrives late
//     but dated before the deadline, the item becomes done in time and the variance goes.
//   - Variances: item_overdue; stay_beyond_standard (from local midnight after day max of
//     the stay); stay_short (positive: discharged alive before the standard minimum);
//     icu_transfer (a transfer to a department in Config.ICUDepartments or a location in
//     Config.ICULocations); return_to_theatre; death; recorded (RecordVariance).
//   - Completion: at discharge the status is completed, with completion "standard", or
//     "variant" when there was at least one negative variance (变异完成; death included).
//     Withdraw refuses a completed instance (ECONFLICT, 409).
//   - Day and length of stay are calendar days in Config.Zone (admission day is day 1;
//     length of stay is discharge date minus admission date, at least 1). While an instance
//     is active, Wake is the next deadline, stage boundary or local midnight.
//
// Records are Kind "pathway-instance" with the Instance JSON as body; notices are
// pathway.enrolled, pathway.item_overdue, pathway.variance, pathway.completed and
// pathway.withdrawn. Qualifies tells QC which discharges qualified, enrolled or not.
// PlanDefinition and CarePlan are the FHIR R4 views.
package clinicalpath
