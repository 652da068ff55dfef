package mapping

import (
	"encoding/json"
	"time"
)

// Event kinds: the one vocabulary pathways, critical values, follow-up and QC read. Each
// kind's Event.Data is the JSON of the struct named after it (AdmittedData for KindAdmitted…).
const (
	KindAdmitted     = "admitted"      // an Encounter began (any class: inpatient, outpatient, emergency)
	KindTransferred  = "transferred"   // the patient moved to another ward, bed or department
	KindDischarged   = "discharged"    // an Encounter ended, with its disposition (death included)
	KindDiagnosed    = "diagnosed"     // a Condition, or an Encounter.diagnosis entry with its role
	KindOperated     = "operated"      // a Procedure was performed
	KindOrdered      = "ordered"       // a ServiceRequest or MedicationRequest
	KindResult       = "result"        // a lab Observation or report
	KindImaging      = "imaging"       // an ImagingStudy or imaging report
	KindDocumented   = "documented"    // a clinical document: round, handover, MDT, consultation…
	KindDied         = "died"          // Patient.deceased[x]
	KindAdverseEvent = "adverse_event" // an AdverseEvent report
	// KindCancelled withdraws what an earlier event under the same Key stated: the resource
	// was entered in error, refuted, cancelled or not done. Consumers drop the Key's fact.
	KindCancelled = "cancelled"
)

// Document kinds: the Lujing vocabulary (code system DocumentKindSystem) that document type
// codes are mapped to through code maps.
const (
	DocumentKindSystem     = "http://lujing.example/fhir/CodeSystem/document-kind"
	DocRound               = "round"           // a ward round whose level is not known
	DocRoundResident       = "round-resident"  // 住院医师查房
	DocRoundAttending      = "round-attending" // 主治医师查房
	DocRoundChief          = "round-chief"     // 主任(副主任)医师查房
	DocHandover            = "handover"        // 交接班
	DocMDT                 = "mdt"             // 多学科讨论
	DocConsultationRequest = "consultation-request"
	DocConsultationDone    = "consultation-completion"
)

// Concept is a coded element after code mapping. System/Code/Display are the standard code
// the kind is matched on (ICD-10 for diagnoses, ICD-9-CM-3 for operations, LOINC for results)
// when the resource carried one or a code map gave one; otherwise the first coding as
// received. Codings keeps every coding as received, for rules written in local codes.
type Concept struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
	// From is the received coding a code map translated, with the map's id and equivalence.
	From *Mapped `json:"from,omitempty"`
	// Text is CodeableConcept.text.
	Text    string `json:"text,omitempty"`
	Codings []Code `json:"codings,omitempty"`
}

// Mapped records a translation: the source coding, the map and the ConceptMap equivalence.
type Mapped struct {
	System      string `json:"system"`
	Code        string `json:"code"`
	Map         string `json:"map"`
	Equivalence string `json:"equivalence"`
}

// Ref is a reference to another resource as written, normalised to "Type/id" where it is a
// literal one.
type Ref struct {
	Reference  string `json:"reference,omitempty"`
	Display    string `json:"display,omitempty"`
	Identifier *Code  `json:"identifier,omitempty"` // Reference.identifier as system/code(=value)
}

// Placement is where an inpatient is: department, ward and bed.
type Placement struct {
	Department *Code `json:"department,omitempty"` // code and name, e.g. GI-SURG 胃肠外科
	Ward       *Ref  `json:"ward,omitempty"`
	Bed        *Ref  `json:"bed,omitempty"`
	// Location is where the patient is when that is neither a ward nor a bed (an emergency
	// room, a theatre, or a location of no physical type).
	Location *Ref       `json:"location,omitempty"`
	Start    *time.Time `json:"start,omitempty"`
}

// AdmittedData is the Data of KindAdmitted. Event.At is Encounter.period.start.
type AdmittedData struct {
	// CareSetting is "inpatient" (ActCode IMP, ACUTE, NONAC), "outpatient" (AMB),
	// "emergency" (EMER) or "other"; ClassCode is Encounter.class.code as sent.
	CareSetting string `json:"care_setting"`
	ClassCode   string `json:"class_code,omitempty"`
	Status      string `json:"status"`
	MRN         string `json:"mrn,omitempty"` // the patient's medical-record number, per the profile
	Placement
	Priority    *Code  `json:"priority,omitempty"`     // Encounter.priority, e.g. v3-ActPriority EM
	AdmitSource *Code  `json:"admit_source,omitempty"` // hospitalization.admitSource
	Attending   *Ref   `json:"attending,omitempty"`    // participant of type ATND
	Types       []Code `json:"types,omitempty"`        // Encounter.type codings
}

// TransferredData is the Data of KindTransferred: one per placement after the first, from
// the Encounter.location history. Event.At is when the new placement began.
type TransferredData struct {
	CareSetting string    `json:"care_setting"`
	From        Placement `json:"from"`
	To          Placement `json:"to"`
}

// DischargedData is the Data of KindDischarged. Event.At is Encounter.period.end.
type DischargedData struct {
	CareSetting string    `json:"care_setting"`
	Admitted    time.Time `json:"admitted"`
	Disposition *Code     `json:"disposition,omitempty"`
	Died        bool      `json:"died"` // the disposition is one of the profile's death codes
	Placement
}

// DiagnosedData is the Data of KindDiagnosed. From a Condition (Key "Condition/c#diagnosed")
// it has no role; from an Encounter.diagnosis entry (Key "Encounter/e#diagnosed/<use>/Condition/c")
// it has the role, rank and principal flag. Event.At is Condition.recordedDate, else the
// onset; for a discharge diagnosis, the end of the Encounter.
type DiagnosedData struct {
	Code      Concept `json:"code"` // ICD-10 after mapping
	Condition string  `json:"condition"`
	// Role is "admission" (AD), "discharge" (DD), "comorbidity" (CM), "chief-complaint" (CC),
	// "pre-op", "post-op", "billing" or the use code as sent; empty from a Condition.
	Role string `json:"role,omitempty"`
	Rank int    `json:"rank,omitempty"`
	// Principal marks the principal (first) diagnosis of its role: rank 1, or listed first
	// when no entry of the role has a rank. A comorbidity is never principal.
	Principal          bool       `json:"principal,omitempty"`
	ClinicalStatus     string     `json:"clinical_status,omitempty"`
	VerificationStatus string     `json:"verification_status,omitempty"`
	Categories         []string   `json:"categories,omitempty"` // e.g. encounter-diagnosis
	Onset              *time.Time `json:"onset,omitempty"`
	Recorded           *time.Time `json:"recorded,omitempty"`
}

// OperatedData is the Data of KindOperated. Event.At is the start of the operation.
type OperatedData struct {
	Code   Concept    `json:"code"` // ICD-9-CM-3 after mapping
	Status string     `json:"status"`
	Start  *time.Time `json:"start,omitempty"`
	End    *time.Time `json:"end,omitempty"`
	// Surgeon is the performer whose function is surgeon (主刀), else the first performer.
	Surgeon *Ref `json:"surgeon,omitempty"`
	// Grade is the surgery grade 1–4, 0 when unknown; GradeSource says where it came from:
	// "resource" (the profile's extension or category) or "catalogue" (the grading catalogue).
	Grade       int    `json:"grade,omitempty"`
	GradeSource string `json:"grade_source,omitempty"`
	// Planned is nil when the source does not say (profile procedure.planned_extension).
	Planned *bool `json:"planned,omitempty"`
	// Urgency is "emergency", "elective" or "" when not sent (profile procedure.urgency_extension).
	Urgency  string   `json:"urgency,omitempty"`
	Category *Code    `json:"category,omitempty"`
	Reasons  []string `json:"reasons,omitempty"` // reasonReference, e.g. the Condition operated for
}

// OrderedData is the Data of KindOrdered. Event.At is authoredOn.
type OrderedData struct {
	Code       Concept    `json:"code"` // what is ordered (LOINC for lab orders after mapping); the medication for a MedicationRequest
	Categories []Code     `json:"categories,omitempty"`
	Status     string     `json:"status"`
	Intent     string     `json:"intent,omitempty"`
	Priority   string     `json:"priority,omitempty"` // routine | urgent | asap | stat
	Requester  *Ref       `json:"requester,omitempty"`
	Authored   *time.Time `json:"authored,omitempty"`
	Identifier []Code     `json:"identifier,omitempty"` // order numbers as system/code(=value)
}

// ResultData is the Data of KindResult: one lab Observation (Key "Observation/o#result"), an
// Observation contained in a report ("DiagnosticReport/r#result/<contained id>"), or the
// report itself ("DiagnosticReport/r#result", with Members and no Value). Event.At is the
// issued (release) time, else the effective time.
type ResultData struct {
	Code   Concept `json:"code"` // LOINC after mapping
	Status string  `json:"status"`
	// Value is the result; nil when there is none (a report, a cancelled test).
	Value          *Value      `json:"value,omitempty"`
	Components     []Component `json:"components,omitempty"`
	Interpretation []Code      `json:"interpretation,omitempty"`
	// Critical is set when the source marked the result critical (profile critical rule).
	Critical       bool       `json:"critical,omitempty"`
	ReferenceRange []Range    `json:"reference_range,omitempty"`
	Effective      *time.Time `json:"effective,omitempty"`
	Issued         *time.Time `json:"issued,omitempty"`
	BasedOn        []string   `json:"based_on,omitempty"` // the orders, "ServiceRequest/s1"
	Categories     []Code     `json:"categories,omitempty"`
	// Report is the DiagnosticReport an Observation is contained in.
	Report string `json:"report,omitempty"`
	// Members are the results of a report: "Observation/o1" for those referenced, the Key of
	// those contained.
	Members         []string `json:"members,omitempty"`
	Conclusion      string   `json:"conclusion,omitempty"`
	ConclusionCodes []Code   `json:"conclusion_codes,omitempty"`
}

// Value is an Observation value. Quantities keep the number as sent (7.20 stays 7.20).
type Value struct {
	// Type is the value[x] type: quantity, codeable_concept, string, boolean, integer, range,
	// ratio, time, date_time, period or sampled_data.
	Type       string      `json:"type"`
	Number     json.Number `json:"number,omitempty"`
	Comparator string      `json:"comparator,omitempty"`
	Unit       string      `json:"unit,omitempty"`        // Quantity.unit, else its code
	UnitSystem string      `json:"unit_system,omitempty"` // e.g. http://unitsofmeasure.org
	UnitCode   string      `json:"unit_code,omitempty"`
	Code       *Concept    `json:"code,omitempty"`
	Text       string      `json:"text,omitempty"` // string, time and date values; ranges and ratios written out
	Boolean    *bool       `json:"boolean,omitempty"`
}

// Component is an Observation.component (a blood pressure's systolic part…).
type Component struct {
	Code           Concept `json:"code"`
	Value          *Value  `json:"value,omitempty"`
	Interpretation []Code  `json:"interpretation,omitempty"`
}

// Range is an Observation.referenceRange.
type Range struct {
	Low  json.Number `json:"low,omitempty"`
	High json.Number `json:"high,omitempty"`
	Unit string      `json:"unit,omitempty"`
	Text string      `json:"text,omitempty"`
	Type string      `json:"type,omitempty"` // e.g. normal, treatment
}

// ImagingData is the Data of KindImaging: an imaging report (Key "DiagnosticReport/r#imaging",
// Event.At its issued time) or an ImagingStudy ("ImagingStudy/i#imaging", Event.At started).
type ImagingData struct {
	Code            Concept    `json:"code"` // the exam (LOINC after mapping) or the study's procedure
	Status          string     `json:"status"`
	Modalities      []Code     `json:"modalities,omitempty"` // DICOM modality codes of the study and its series
	Conclusion      string     `json:"conclusion,omitempty"`
	ConclusionCodes []Code     `json:"conclusion_codes,omitempty"`
	Critical        bool       `json:"critical,omitempty"` // a critical finding (profile critical rule)
	Effective       *time.Time `json:"effective,omitempty"`
	Issued          *time.Time `json:"issued,omitempty"`
	BasedOn         []string   `json:"based_on,omitempty"`
	Studies         []string   `json:"studies,omitempty"` // DiagnosticReport.imagingStudy
	Series          int        `json:"series,omitempty"`
	Instances       int        `json:"instances,omitempty"`
}

// DocumentedData is the Data of KindDocumented. Event.At is the document's date.
type DocumentedData struct {
	// DocumentKind is the Lujing document kind (Doc* constants) the type code maps to; empty
	// when the type maps to none.
	DocumentKind string   `json:"document_kind,omitempty"`
	Type         Concept  `json:"type"`
	Status       string   `json:"status"`
	DocStatus    string   `json:"doc_status,omitempty"` // DocumentReference.docStatus
	Title        string   `json:"title,omitempty"`
	Authors      []Ref    `json:"authors,omitempty"`
	Related      []string `json:"related,omitempty"` // related resources and documents, e.g. the consultation request answered
}

// DiedData is the Data of KindDied. Event.At is Patient.deceasedDateTime; with only
// deceasedBoolean the time is not known (TimeKnown false) and At is meta.lastUpdated.
type DiedData struct {
	TimeKnown bool `json:"time_known"`
}

// AdverseEventData is the Data of KindAdverseEvent. Event.At is AdverseEvent.date, else
// detected, else recordedDate.
type AdverseEventData struct {
	Actuality   string     `json:"actuality"` // actual | potential (a near miss)
	Event       *Concept   `json:"event,omitempty"`
	Categories  []Code     `json:"categories,omitempty"`
	Seriousness *Code      `json:"seriousness,omitempty"`
	Severity    *Code      `json:"severity,omitempty"`
	Outcome     *Code      `json:"outcome,omitempty"`
	Recorder    *Ref       `json:"recorder,omitempty"`
	Detected    *time.Time `json:"detected,omitempty"`
	Recorded    *time.Time `json:"recorded,omitempty"`
	Suspects    []string   `json:"suspects,omitempty"` // suspectEntity.instance references
}

// CancelledData is the Data of KindCancelled.
type CancelledData struct {
	// Cancels is the kind of the event withdrawn.
	Cancels string `json:"cancels"`
	// Reason is the status that withdrew it: entered-in-error, refuted, cancelled, not-done,
	// or "alive" for a Patient no longer deceased.
	Reason string `json:"reason"`
}
