package followup

import (
	"encoding/json"
	"time"
)

// ContactView is the JSON of a "follow-up" record (GET /api/v1/follow-ups) and of its notices.
type ContactView struct {
	Kind        string   `json:"kind"` // "follow-up"
	ID          string   `json:"id"`
	Patient     string   `json:"patient"`
	Encounter   string   `json:"encounter"` // the index stay: the discharge the schedule counts from
	Reasons     []string `json:"reasons"`   // grade4-surgery, malignant-tumour
	DueOn       string   `json:"due_on"`    // date in the hospital's zone
	WindowStart string   `json:"window_start"`
	WindowEnd   string   `json:"window_end"`
	Method      string   `json:"method"` // phone | clinic | online
	Assignee    string   `json:"assignee"`
	Department  string   `json:"department"`
	Status      string   `json:"status"`
	// StatusReason says why a contact is cancelled.
	StatusReason string    `json:"status_reason,omitempty"`
	Attempts     []Attempt `json:"attempts"`
	Outcome      *Outcome  `json:"outcome"`
	// Findings are those shown on this contact: of its stay or an earlier one, when it is
	// the next open contact.
	Findings       []Finding   `json:"findings"`
	Eligibility    Eligibility `json:"eligibility"`
	DischargedAt   time.Time   `json:"discharged_at"`
	ClosedAt       *time.Time  `json:"closed_at,omitempty"`
	LostToFollowUp bool        `json:"lost_to_follow_up"`
	// PlannedAs lists the template contacts this contact stands for ("grade4-surgery/d90",
	// "malignant-tumour/m3" when merged).
	PlannedAs []string `json:"planned_as"`
	Template  string   `json:"template"`
}

// StayView is the JSON of a "follow-up-eligibility" record: one inpatient stay discharged,
// whether it is followed up and why, and what later data found.
type StayView struct {
	Kind           string      `json:"kind"` // "follow-up-eligibility"
	ID             string      `json:"id"`
	Patient        string      `json:"patient"`
	Encounter      string      `json:"encounter"`
	Department     string      `json:"department"`
	Status         string      `json:"status"` // eligible | not_eligible
	Reasons        []string    `json:"reasons"`
	Eligibility    Eligibility `json:"eligibility"`
	AdmittedAt     time.Time   `json:"admitted_at"`
	DischargedAt   time.Time   `json:"discharged_at"`
	IndexOperation string      `json:"index_operation,omitempty"`
	OperatedAt     *time.Time  `json:"operated_at,omitempty"`
	Findings       []Finding   `json:"findings"`
	Contacts       []string    `json:"contacts"` // ids of the stay's contacts, by due date
	LostToFollowUp bool        `json:"lost_to_follow_up"`
	Death          *Death      `json:"death,omitempty"`
	closed         time.Time
}

func (e *Engine) contactBody(st *state, v *view, s *stay, shown []Finding, isLost bool) ContactView {
	b := ContactView{Kind: KindContact, ID: v.ID, Patient: st.Patient, Encounter: v.Encounter, Reasons: v.Reasons,
		DueOn: v.DueOn, WindowStart: v.WindowFrom, WindowEnd: v.WindowTo, Method: v.Method, Assignee: v.Assignee,
		Department: v.Department, Status: v.status, StatusReason: v.reason, Attempts: v.attempts, Outcome: v.outcome,
		Findings: shown, DischargedAt: v.Discharged, LostToFollowUp: isLost, PlannedAs: v.Specs, Template: v.Template,
		Eligibility: Eligibility{Reasons: []Because{}, NotEligible: []Because{}}}
	if b.Findings == nil {
		b.Findings = []Finding{}
	}
	if s != nil {
		b.Eligibility = s.Eligibility
	}
	if !v.closed.IsZero() {
		t := v.closed
		b.ClosedAt = &t
	}
	return b
}

func (e *Engine) stayView(st *state, s *stay, vs []*view, isLost bool) StayView {
	sv := StayView{Kind: KindEligibility, ID: s.ID, Patient: st.Patient, Encounter: s.Encounter, Department: s.Department,
		Status: StatusNotEligible, Reasons: reasonsOf(s.Eligibility.Reasons), Eligibility: s.Eligibility,
		AdmittedAt: s.Admitted, DischargedAt: s.Discharged, IndexOperation: s.IndexOperation, Findings: s.Findings,
		Contacts: []string{}, LostToFollowUp: isLost, Death: e.death(st)}
	if sv.Reasons == nil {
		sv.Reasons = []string{}
	}
	if sv.Findings == nil {
		sv.Findings = []Finding{}
	}
	if !s.IndexOperationAt.IsZero() {
		t := s.IndexOperationAt
		sv.OperatedAt = &t
	}
	if len(sv.Reasons) == 0 {
		sv.closed = s.Discharged // decided: nothing more to do for this stay
		return sv
	}
	sv.Status = StatusEligible
	allClosed := true
	for _, v := range vs {
		if v.Encounter != s.Encounter {
			continue
		}
		sv.Contacts = append(sv.Contacts, v.ID)
		if open(v.status) {
			allClosed = false
		} else if v.closed.After(sv.closed) {
			sv.closed = v.closed
		}
	}
	if !allClosed || len(sv.Contacts) == 0 {
		sv.closed = time.Time{}
	}
	return sv
}

// Eligibility returns, from a patient's state, every inpatient stay discharged with its
// follow-up decision (eligible or not, and why), findings and contacts, as its
// follow-up-eligibility record shows it at now. The adapter shows it in the patient view.
func (e *Engine) Eligibility(raw json.RawMessage, now time.Time) ([]StayView, error) {
	st, err := loadState(raw)
	if err != nil {
		return nil, err
	}
	vs := e.views(st, now)
	out := make([]StayView, 0, len(st.Stays))
	for _, s := range st.Stays {
		out = append(out, e.stayView(st, s, vs, lost(vs)))
	}
	return out, nil
}
