package followup

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lujing-health/lujing/pathways"
)

// stateVersion is the version of the state document's shape.
const stateVersion = 1

// state is the whole follow-up of one patient: what was derived from the facts at the last
// Apply (stays, plan, findings, death) and what people did (actions) and were told (notified).
// Record rebuilds the outcome from it without the facts, so the derived part is kept too.
type state struct {
	V       int       `json:"v"`
	Patient string    `json:"patient"`
	Config  string    `json:"config"` // "id@version" of the configuration last planned with
	Stays   []*stay   `json:"stays,omitempty"`
	Plan    []Contact `json:"plan,omitempty"` // from the facts; statuses come from actions and time
	Death   *Death    `json:"death,omitempty"`
	// Actions are the attempts recorded, by contact id. They survive every Apply.
	Actions map[string]*actions `json:"actions,omitempty"`
	// Notified lists, by record id, the notices already published ("due", "overdue",
	// "missed", "finding:<key>"), so that applying again publishes nothing new.
	Notified map[string][]string `json:"notified,omitempty"`
}

// stay is one inpatient stay that ended with a discharge, and what follow-up makes of it.
type stay struct {
	ID         string    `json:"id"` // the eligibility record's id
	Encounter  string    `json:"encounter"`
	Department string    `json:"department,omitempty"`
	Admitted   time.Time `json:"admitted_at"`
	Discharged time.Time `json:"discharged_at"`
	DiedInStay bool      `json:"died_in_stay,omitempty"`
	// Eligibility says why the stay is (or is not) followed up.
	Eligibility Eligibility `json:"eligibility"`
	// IndexOperation is the operation return to theatre is counted from: the first
	// grade-four operation of the stay, else its first operation.
	IndexOperation   string    `json:"index_operation,omitempty"`
	IndexOperationAt time.Time `json:"operated_at,omitzero"`
	Findings         []Finding `json:"findings,omitempty"`
	Planned          bool      `json:"planned,omitempty"` // it has contacts (its own or carried)
}

// Eligibility is a stay's follow-up decision with its reasons.
type Eligibility struct {
	Reasons     []Because `json:"reasons"`
	NotEligible []Because `json:"not_eligible"`
}

// Because is one reason for or against follow-up.
type Because struct {
	Reason   string `json:"reason"`             // grade4-surgery, malignant-tumour, died-in-hospital…
	Evidence string `json:"evidence,omitempty"` // the resource, "Procedure/op1"
	Detail   string `json:"detail"`             // said for people: "procedure 45.73 has no surgery grade"
	// CarriedFrom is the earlier stay whose follow-up this stay's discharge re-anchors.
	CarriedFrom string `json:"carried_from,omitempty"`
}

// Finding is something later data says about an index stay.
type Finding struct {
	Key      string    `json:"key"`  // "readmission:Encounter/e2"
	Kind     string    `json:"kind"` // readmission | return-to-theatre
	Index    string    `json:"index"`
	Evidence string    `json:"evidence"`
	At       time.Time `json:"at"`
	// Day is the calendar day in the hospital's zone, the discharge (or index operation) day
	// being day 1.
	Day int `json:"day"`
	// Split is the readmission band: "same-day", "2-15" or "16-31" (by the configured limit).
	Split   string `json:"split,omitempty"`
	Planned bool   `json:"planned"`
	// Hours from the index operation's start (return to theatre); Within48h is Hours ≤ the limit.
	Hours         float64 `json:"hours,omitempty"`
	WithinHours   bool    `json:"within_48h,omitempty"`
	SameAdmission bool    `json:"same_admission,omitempty"`
	Detail        string  `json:"detail"`
}

// Death is how follow-up learnt that the patient died.
type Death struct {
	At     time.Time `json:"at"`
	Source string    `json:"source"` // "patient" (Patient.deceased), "discharge", "follow-up"
	Ref    string    `json:"ref"`    // the resource or contact id
	Detail string    `json:"detail"`
}

// Contact is one planned follow-up contact, as derived from the facts.
type Contact struct {
	ID         string    `json:"id"`
	Key        string    `json:"key"` // "Encounter/e1#grade4-surgery/d7"
	Encounter  string    `json:"encounter"`
	Reasons    []string  `json:"reasons"`
	Specs      []string  `json:"specs"` // the template contacts it stands for: "grade4-surgery/d7"
	DueOn      string    `json:"due_on"`
	WindowFrom string    `json:"window_start"`
	WindowTo   string    `json:"window_end"`
	StartsAt   time.Time `json:"starts_at"`  // window start, 00:00 in the zone
	OverdueAt  time.Time `json:"overdue_at"` // the day after the window ends, 00:00 in the zone
	DueAt      time.Time `json:"due_at"`
	Method     string    `json:"method"`
	Assignee   string    `json:"assignee"`
	Department string    `json:"department,omitempty"`
	Discharged time.Time `json:"discharged_at"`
	Template   string    `json:"template"`
}

// actions is what people recorded on one contact.
type actions struct {
	// Contact is the contact as planned when first acted on: it stays even when later data
	// would plan it otherwise (contacts worked on are not re-planned).
	Contact  Contact   `json:"contact"`
	Attempts []Attempt `json:"attempts"`
}

// Attempt is one recorded attempt to reach the patient.
type Attempt struct {
	ID         string    `json:"attempt_id,omitempty"`
	At         time.Time `json:"at"`
	By         string    `json:"by"`
	RecordedBy string    `json:"recorded_by,omitempty"`
	Method     string    `json:"method"`
	Reached    bool      `json:"reached"`
	Note       string    `json:"note,omitempty"`
	Outcome    *Outcome  `json:"outcome,omitempty"`
}

// Outcome is what a reached contact learnt. It is also the "outcome" of the record request.
type Outcome struct {
	Status            string   `json:"status"`            // alive | died
	DiedOn            string   `json:"died_on,omitempty"` // date, YYYY-MM-DD
	Complications     []string `json:"complications,omitempty"`
	NewTreatment      string   `json:"new_treatment,omitempty"`
	Readmitted        *bool    `json:"readmitted,omitempty"`
	ReturnedToTheatre *bool    `json:"returned_to_theatre,omitempty"`
	Note              string   `json:"note,omitempty"`
}

func loadState(raw json.RawMessage) (*state, error) {
	st := &state{V: stateVersion}
	if len(raw) == 0 || string(raw) == "null" {
		return st, nil
	}
	if err := pathways.Decode(raw, st); err != nil {
		return nil, fmt.Errorf("followup: state: %w", err)
	}
	if st.V != stateVersion {
		return nil, fmt.Errorf("followup: state version %d, want %d", st.V, stateVersion)
	}
	return st, nil
}

func (st *state) notified(id, what string) bool {
	for _, x := range st.Notified[id] {
		if x == what {
			return true
		}
	}
	return false
}

func (st *state) markNotified(id, what string) {
	if st.Notified == nil {
		st.Notified = map[string][]string{}
	}
	st.Notified[id] = append(st.Notified[id], what)
}

// recordID is a stable id unique across patients: a short hash of what identifies it.
func recordID(prefix string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return prefix + hex.EncodeToString(h.Sum(nil)[:10])
}
