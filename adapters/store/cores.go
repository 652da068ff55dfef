package store

import (
	"context"
	"time"
)

// The clinical cores (pathways, critical values, follow-up) keep one state document per core
// and patient, the records projected from it, and the events they publish. The events form
// the live stream (read by position, so a reconnecting reader resumes where it stopped) and
// feed the webhook deliveries, written in the same transaction, so nothing a core says is lost
// between the database and the notification.

// CoreState is one core's state for one patient.
type CoreState struct {
	Core    string // "criticalvalue", "clinicalpath", "followup"
	Patient string // "Patient/123"
	State   []byte
	// Version counts the saves; SaveCore succeeds only from the version read.
	Version int64
	// Wake is when the core must run again for the patient; zero: never.
	Wake time.Time
	// Digest identifies what the run that saved it produced (state, records, wake), so that
	// a run producing the same need not be written again.
	Digest string
	// Dirty is when a coalesced run is due: events arrived that the core has not read yet.
	// Zero when none waits.
	Dirty time.Time
}

// Due is when the core must run for the patient next: the earlier of Wake and Dirty; zero
// when neither is set.
func (c CoreState) Due() time.Time {
	switch {
	case c.Dirty.IsZero():
		return c.Wake
	case c.Wake.IsZero() || c.Dirty.Before(c.Wake):
		return c.Dirty
	}
	return c.Wake
}

// Record is a row of a core's read side: a pathway instance, a critical value, a follow-up
// contact. Body is the JSON served for it.
type Record struct {
	Kind       string
	ID         string
	Core       string
	Patient    string
	Encounter  string
	Department string
	Status     string
	Hospital   string
	Opened     time.Time
	Closed     time.Time // zero while open
	Body       []byte
	UpdatedAt  time.Time
	// Measures are the record's rows of the QC indicators, stored and replaced with it
	// (written by SaveCore; Record and Records do not read them back).
	Measures []Measure
}

// Measure is one record's row of one QC indicator (see pathways.Measure).
type Measure struct {
	Indicator   string
	At          time.Time
	Hospital    string
	Department  string
	Setting     string
	Subject     string // "Patient/x"
	Denominator int
	Numerator   int
	Value       *float64
	Excluded    bool
}

// MeasureFilter selects measure rows: At in [From, To), and the other fields when not empty.
type MeasureFilter struct {
	Indicators []string
	From, To   time.Time
	Hospital   string
	Department string
	Setting    string
}

// MeasureCount is the sum of the measure rows of one indicator and stratum.
type MeasureCount struct {
	Indicator   string
	Hospital    string
	Department  string
	Setting     string
	Rows        int64 // the initial population
	Denominator int64
	Numerator   int64
	Excluded    int64
}

// MeasureValue is one value of a continuous indicator with its stratum.
type MeasureValue struct {
	Indicator  string
	Hospital   string
	Department string
	Setting    string
	Value      float64
}

// MeasureEvidence says whether an indicator ever had rows, and rows in its numerator, for a
// hospital (all hospitals when asked with ""): what tells "insufficient data" from a 0%.
type MeasureEvidence struct {
	Rows      bool
	Numerator bool
}

// MeasureStore computes the QC indicators over the stored measure rows.
type MeasureStore interface {
	// MeasureCounts sums the rows by indicator, hospital, department and setting.
	MeasureCounts(ctx context.Context, f MeasureFilter) ([]MeasureCount, error)
	// MeasureValues returns the values of the rows that have one, ordered by value.
	MeasureValues(ctx context.Context, f MeasureFilter) ([]MeasureValue, error)
	// MeasureSubjects returns the distinct subjects of the rows in the population:
	// "numerator", "denominator" or "excluded".
	MeasureSubjects(ctx context.Context, f MeasureFilter, population string) ([]string, error)
	// MeasureEvidence reports, for each indicator, whether it ever had rows for the hospital.
	MeasureEvidence(ctx context.Context, hospital string, indicators []string) (map[string]MeasureEvidence, error)
	// KnownDepartment reports whether any measure row has the department.
	KnownDepartment(ctx context.Context, department string) (bool, error)
}

// StreamEvent is one event of the live stream. ID is its position: strictly increasing in
// commit order, so a reader that has seen ID n has seen every event before it.
type StreamEvent struct {
	ID         int64
	Name       string // e.g. "critical-value.notified"
	Record     string // the record's id
	Patient    string
	Department string
	At         time.Time
	Data       []byte
}

// CoreSave is one core run's result for one patient, stored in one transaction.
type CoreSave struct {
	Core    string
	Patient string
	// Version is the CoreState.Version the run started from (0 when there was none).
	Version int64
	State   []byte
	Wake    time.Time
	Digest  string
	// Records replace every record of the core and patient.
	Records []Record
	Events  []StreamEvent
	// Clean clears Dirty: the run read every event stored before it started (a run of the
	// runner, not a clinician's action on the state). With CleanIf set, only a Dirty still
	// equal to it is cleared: a mark set after the run claimed it stays.
	Clean   bool
	CleanIf time.Time
	// Durable asks for the commit to be on disk before SaveCore returns. A save without it
	// may be lost in a crash (PostgreSQL's asynchronous commit, a fraction of a second): fine
	// for state the core recomputes from the events at its next run, not for a clinician's
	// action or an event readers were told of.
	Durable bool
}

// RecordFilter selects records. Empty fields do not filter.
type RecordFilter struct {
	Kind       string
	Patient    string
	Encounter  string
	Statuses   []string
	Department string
	// Departments, when not empty, restricts to records of these departments (a reader bound
	// to departments).
	Departments []string
	OpenOnly    bool      // only records not closed
	OpenedFrom  time.Time // inclusive
	OpenedTo    time.Time // exclusive
	Limit       int
}

// Webhook is a subscriber to the stream: events whose name starts with one of Events (all
// when empty) and, when Departments is not empty, of those departments, are POSTed to URL
// signed with Secret.
type Webhook struct {
	ID          string
	Name        string
	URL         string
	Secret      string
	Events      []string
	Departments []string
	CreatedAt   time.Time
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryDead      = "dead" // given up after the attempts allowed: the dead-letter list
)

// Delivery is one stream event to one webhook.
type Delivery struct {
	ID         int64
	Webhook    string
	Event      StreamEvent
	Status     string
	Attempts   int
	NextAt     time.Time
	LastError  string
	LastStatus int // the receiver's HTTP status of the last attempt, 0 when none came back
	UpdatedAt  time.Time
}

// DeliveryFilter selects deliveries for listing.
type DeliveryFilter struct {
	Status  string
	Webhook string
	Limit   int
}

// CoreStore is what the clinical cores' adapter, the live stream and the webhook dispatcher
// need of the store.
type CoreStore interface {
	// CoreState returns the state; ErrNotFound when the core never ran for the patient.
	CoreState(ctx context.Context, core, patient string) (CoreState, error)
	// SaveCore stores a run; ErrConflict when the state changed since Version was read. It
	// returns the events with their stream ids.
	SaveCore(ctx context.Context, s CoreSave) ([]StreamEvent, error)
	// Wakes returns the core states due to run again (wake or dirty set), soonest first (for
	// rescheduling timers after a restart). State is not filled in.
	Wakes(ctx context.Context, limit int) ([]CoreState, error)
	// PatientCores returns every core state of a patient without State: what is due when.
	PatientCores(ctx context.Context, patient string) ([]CoreState, error)
	// Poke marks a core's run for the patient due at at (keeping an earlier mark) and reports
	// whether the core has a state for the patient (false: nothing was marked) and whether the
	// mark moved.
	Poke(ctx context.Context, core, patient string, at time.Time) (exists, moved bool, err error)
	// DueMarks returns up to limit core states whose Dirty is not after now, the oldest first
	// (without State), for the sweeper that runs coalesced work.
	DueMarks(ctx context.Context, now time.Time, limit int) ([]CoreState, error)
	// ClaimMark moves a due mark from was to until (a lease) if it is still was, so that one
	// replica runs it; false when another did first.
	ClaimMark(ctx context.Context, core, patient string, was, until time.Time) (bool, error)
	// MarkRecent marks due at at the cores of every patient with a message processed since:
	// at a start, it recovers the marks a crash may have lost.
	MarkRecent(ctx context.Context, since, at time.Time) (int64, error)

	Record(ctx context.Context, kind, id string) (Record, error)
	Records(ctx context.Context, f RecordFilter) ([]Record, error)

	// Stream returns up to limit events after the position, oldest first.
	Stream(ctx context.Context, after int64, limit int) ([]StreamEvent, error)
	// StreamHead is the position of the latest event, 0 when none.
	StreamHead(ctx context.Context) (int64, error)

	PutWebhook(ctx context.Context, w Webhook) error
	Webhooks(ctx context.Context) ([]Webhook, error)
	DeleteWebhook(ctx context.Context, id string) error
	// DueDeliveries returns pending deliveries whose NextAt is not after now, oldest first.
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error)
	// SettleDelivery records an attempt's result: status, attempts, next try, error.
	SettleDelivery(ctx context.Context, d Delivery) error
	Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error)
	// RetryDelivery makes a dead (or pending) delivery pending again, due now.
	RetryDelivery(ctx context.Context, id int64, now time.Time) (Delivery, error)
}
