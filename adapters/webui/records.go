package webui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/lujing-health/lujing/adapters/store"
)

// Record kinds the clinical cores write (store.Record.Kind) and the pages read.
const (
	kindPathway  = "pathway-instance"
	kindCritical = "critical-value"
	kindFollowUp = "follow-up"
)

// The bodies below are the JSON the cores write for their records (the API serves them as
// they are). Only what the pages show is decoded; unknown fields are ignored so that a core
// adding a field does not break a page.

type pathwayInstance struct {
	ID      string `json:"id"`
	Pathway struct {
		ID      string `json:"id"`
		Version string `json:"version"`
		Title   Text   `json:"title"`
	} `json:"pathway"`
	Patient      string    `json:"patient"`
	Encounter    string    `json:"encounter"`
	Department   string    `json:"department"`
	Status       string    `json:"status"`
	EnrolledAt   time.Time `json:"enrolled_at"`
	Day          int       `json:"day"`
	StandardStay struct {
		Min int `json:"min"`
		Max int `json:"max"`
	} `json:"standard_stay"`
	Stage  string `json:"stage"`
	Stages []struct {
		ID    string     `json:"id"`
		Title Text       `json:"title"`
		Start *time.Time `json:"start"`
		End   *time.Time `json:"end"`
	} `json:"stages"`
	Items []struct {
		ID       string     `json:"id"`
		Stage    string     `json:"stage"`
		Title    Text       `json:"title"`
		Kind     string     `json:"kind"`
		Required bool       `json:"required"`
		Status   string     `json:"status"`
		DueAt    *time.Time `json:"due_at"`
		DoneAt   *time.Time `json:"done_at"`
		Late     bool       `json:"late"`
		Evidence string     `json:"evidence"`
	} `json:"items"`
	Variances []struct {
		ID           string    `json:"id"`
		Kind         string    `json:"kind"`
		Reason       string    `json:"reason"`
		Source       string    `json:"source"`
		Direction    string    `json:"direction"`
		Controllable bool      `json:"controllable"`
		At           time.Time `json:"at"`
		By           string    `json:"by"`
	} `json:"variances"`
	Withdrawn *struct {
		At     time.Time `json:"at"`
		By     string    `json:"by"`
		Reason string    `json:"reason"`
	} `json:"withdrawn"`
}

// stageTitle is the title of the instance's current stage.
func (p *pathwayInstance) stageTitle(lang string) string {
	for _, s := range p.Stages {
		if s.ID == p.Stage {
			return s.Title.In(lang)
		}
	}
	return p.Stage
}

// progress counts the required items done (or waived) of all required items, and the overdue.
func (p *pathwayInstance) progress() (done, total, overdue int) {
	for _, it := range p.Items {
		if it.Status == "overdue" {
			overdue++
		}
		if !it.Required {
			continue
		}
		total++
		if it.Status == "done" || it.Status == "waived" {
			done++
		}
	}
	return done, total, overdue
}

type criticalValue struct {
	ID              string `json:"id"`
	Status          string `json:"status"`
	EscalationLevel int    `json:"escalation_level"`
	Patient         string `json:"patient"`
	Encounter       string `json:"encounter"`
	Kind            string `json:"kind"`
	Setting         string `json:"setting"`
	Code            struct {
		System  string `json:"system"`
		Code    string `json:"code"`
		Display string `json:"display"`
	} `json:"code"`
	Value          string     `json:"value"`
	Unit           string     `json:"unit"`
	Rule           string     `json:"rule"`
	ReleasedAt     *time.Time `json:"released_at"`
	DetectedAt     *time.Time `json:"detected_at"`
	NotifiedAt     *time.Time `json:"notified_at"`
	AcknowledgedAt *time.Time `json:"acknowledged_at"`
	HandledAt      *time.Time `json:"handled_at"`
	Department     string     `json:"department"`
	DepartmentName string     `json:"department_name"`
	Receiver       string     `json:"receiver"`
	Physician      string     `json:"physician"`
	Action         string     `json:"action"`
	Events         []struct {
		Type   string    `json:"type"`
		At     time.Time `json:"at"`
		Actor  string    `json:"actor"`
		Detail string    `json:"detail"`
		Level  int       `json:"level"`
	} `json:"events"`
}

// needsAck: the value waits for someone to take it (with a read-back).
func (c *criticalValue) needsAck() bool {
	return c.Status == "detected" || c.Status == "notified" || c.Status == "unreachable"
}

func (c *criticalValue) needsHandling() bool { return c.Status == "acknowledged" }

type followUp struct {
	ID          string   `json:"id"`
	Patient     string   `json:"patient"`
	Encounter   string   `json:"encounter"`
	Reasons     []string `json:"reasons"`
	DueOn       string   `json:"due_on"`
	WindowStart string   `json:"window_start"`
	WindowEnd   string   `json:"window_end"`
	Method      string   `json:"method"`
	Assignee    string   `json:"assignee"`
	Department  string   `json:"department"`
	Status      string   `json:"status"`
	Attempts    []struct {
		At      time.Time `json:"at"`
		By      string    `json:"by"`
		Method  string    `json:"method"`
		Reached bool      `json:"reached"`
		Note    string    `json:"note"`
	} `json:"attempts"`
}

// records reads the records of a kind the viewer may see: a clinician bound to departments
// sees only theirs, exactly as the API's list does. department narrows further.
func (u *UI) records(ctx context.Context, v *viewer, kind, department string, openOnly bool) ([]store.Record, error) {
	f := store.RecordFilter{Kind: kind, Department: department, OpenOnly: openOnly, Limit: 5000}
	if len(v.user.Departments) > 0 {
		f.Departments = v.user.Departments
	}
	rs, err := u.cfg.Store.Records(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("read %s records: %w", kind, err)
	}
	return rs, nil
}

// record reads one record the viewer may see; errForbidden outside their departments.
func (u *UI) record(ctx context.Context, v *viewer, kind, id string) (store.Record, error) {
	r, err := u.cfg.Store.Record(ctx, kind, id)
	if err != nil {
		return r, err
	}
	if len(v.user.Departments) > 0 && !slices.Contains(v.user.Departments, r.Department) {
		return r, errForbidden
	}
	return r, nil
}

var errForbidden = fmt.Errorf("outside the viewer's departments")

func decode[T any](r store.Record) (T, error) {
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		return v, fmt.Errorf("decode %s %s: %w", r.Kind, r.ID, err)
	}
	return v, nil
}

// allowedDepartment checks a department filter against the viewer's binding.
func allowedDepartment(v *viewer, dept string) bool {
	return dept == "" || len(v.user.Departments) == 0 || slices.Contains(v.user.Departments, dept)
}

// auditList records a list page's read of patient data — unmasked names audited as such —
// before anything is read, and says whether names are shown in full.
func (u *UI) auditList(r *http.Request, v *viewer) (bool, error) {
	full := showFullNames(r)
	action := "search"
	if full {
		action = "search-unmasked"
	}
	return full, u.audit(r, v, action, r.URL.RequestURI(), "")
}
