package webui

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"time"

	"github.com/lujing-health/lujing/adapters/store"
)

type wardRow struct {
	ID        string
	Patient   patientInfo
	Pathway   string
	Status    string
	Day       int
	StayMin   int
	StayMax   int
	OverStay  bool
	Stage     string
	Done      int
	Total     int
	Overdue   int
	Variances int
	Critical  int
	FollowUp  bool
	Dept      string
}

type wardView struct {
	Rows        []wardRow
	Departments []string
	Department  string
	FullNames   bool
	NamesLink   string
}

// showFullNames is the viewer's choice to unmask names on a page (?names=full); the reads
// are audited as such.
func showFullNames(r *http.Request) bool { return r.URL.Query().Get("names") == "full" }

// namesToggle is the link that flips name masking on the current page.
func namesToggle(r *http.Request) string {
	q := r.URL.Query()
	if q.Get("names") == "full" {
		q.Del("names")
	} else {
		q.Set("names", "full")
	}
	q.Del("fragment")
	return (&url.URL{Path: r.URL.Path, RawQuery: q.Encode()}).String()
}

// ward is the ward board: every patient on a pathway, with the day of stay against the
// standard stay, stage, progress, overdue items, variance and critical-value badges and
// follow-up flags.
func (u *UI) ward(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx := r.Context()
	dept := r.URL.Query().Get("department")
	if !allowedDepartment(v, dept) {
		u.renderError(w, r, v, http.StatusForbidden, "error.forbidden")
		return
	}
	full, err := u.auditList(r, v)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	// Every department the viewer may filter on, from all their open instances.
	all, err := u.records(ctx, v, kindPathway, "", true)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	var depts []string
	for _, rec := range all {
		if rec.Department != "" && !slices.Contains(depts, rec.Department) {
			depts = append(depts, rec.Department)
		}
	}
	sort.Strings(depts)
	cvs, err := u.records(ctx, v, kindCritical, dept, true)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	openCV := map[string]int{}
	for _, c := range cvs {
		openCV[c.Patient]++
	}
	fus, err := u.records(ctx, v, kindFollowUp, dept, true)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	fuDue := map[string]bool{}
	for _, f := range fus {
		if f.Status == "due" || f.Status == "overdue" {
			fuDue[f.Patient] = true
		}
	}
	ps := newPatients(u.cfg.Store, full)
	view := wardView{Departments: depts, Department: dept, FullNames: full, NamesLink: namesToggle(r)}
	for _, rec := range all {
		if dept != "" && rec.Department != dept {
			continue
		}
		in, err := decode[pathwayInstance](rec)
		if err != nil {
			u.log.Warn("ward board: skipping a record", "err", err)
			continue
		}
		p, err := ps.get(ctx, rec.Patient, firstNonEmpty(in.Encounter, rec.Encounter))
		if err != nil {
			u.fail(w, r, v, err)
			return
		}
		done, total, overdue := in.progress()
		view.Rows = append(view.Rows, wardRow{ID: rec.ID, Patient: p, Pathway: in.Pathway.Title.In(v.lang), Status: in.Status,
			Day: in.Day, StayMin: in.StandardStay.Min, StayMax: in.StandardStay.Max, OverStay: in.StandardStay.Max > 0 && in.Day > in.StandardStay.Max,
			Stage: in.stageTitle(v.lang), Done: done, Total: total, Overdue: overdue, Variances: len(in.Variances),
			Critical: openCV[rec.Patient], FollowUp: fuDue[rec.Patient], Dept: rec.Department})
	}
	sort.SliceStable(view.Rows, func(i, j int) bool {
		a, b := view.Rows[i], view.Rows[j]
		if a.Dept != b.Dept {
			return a.Dept < b.Dept
		}
		return a.Patient.Bed < b.Patient.Bed
	})
	u.render(w, r, http.StatusOK, "ward", u.view(r, v, "ward.title", view))
}

// pathway is one patient's pathway as the localized form: stages as columns, items as rows.
func (u *UI) pathway(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx := r.Context()
	rec, err := u.record(ctx, v, kindPathway, r.PathValue("id"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		u.renderError(w, r, v, http.StatusNotFound, "error.notfound")
		return
	case errors.Is(err, errForbidden):
		u.renderError(w, r, v, http.StatusForbidden, "error.forbidden")
		return
	case err != nil:
		u.fail(w, r, v, err)
		return
	}
	full := showFullNames(r)
	action := "read"
	if full {
		action = "read-unmasked"
	}
	if err := u.audit(r, v, action, kindPathway+"/"+rec.ID, rec.Patient); err != nil {
		u.fail(w, r, v, err)
		return
	}
	in, err := decode[pathwayInstance](rec)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	p, err := newPatients(u.cfg.Store, full).get(ctx, rec.Patient, firstNonEmpty(in.Encounter, rec.Encounter))
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	u.render(w, r, http.StatusOK, "pathway", u.view(r, v, "pw.title", pathwayView(v.lang, in, p, namesToggle(r), full)))
}

type pwStage struct {
	ID, Title string
	Current   bool
	Start     string
	Items     []pwItemView
}

type pwItemView struct {
	Title    string
	Status   string
	Required bool
	Late     bool
	DueAt    *time.Time
	DoneAt   *time.Time
	Evidence string
}

type pwView struct {
	In        pathwayInstance
	Patient   patientInfo
	Title     string
	Stages    []pwStage
	Done      int
	Total     int
	Overdue   int
	NamesLink string
	FullNames bool
	Active    bool
}

func pathwayView(lang string, in pathwayInstance, p patientInfo, namesLink string, full bool) pwView {
	v := pwView{In: in, Patient: p, Title: in.Pathway.Title.In(lang), NamesLink: namesLink, FullNames: full, Active: in.Status == "active"}
	v.Done, v.Total, v.Overdue = in.progress()
	index := map[string]int{}
	for _, s := range in.Stages {
		index[s.ID] = len(v.Stages)
		st := pwStage{ID: s.ID, Title: s.Title.In(lang), Current: s.ID == in.Stage}
		v.Stages = append(v.Stages, st)
	}
	for _, it := range in.Items {
		i, ok := index[it.Stage]
		if !ok { // an item of a stage the record does not list: keep it visible
			index[it.Stage] = len(v.Stages)
			i = len(v.Stages)
			v.Stages = append(v.Stages, pwStage{ID: it.Stage, Title: it.Stage})
		}
		iv := pwItemView{Title: it.Title.In(lang), Status: it.Status, Required: it.Required, Late: it.Late,
			Evidence: it.Evidence, DueAt: it.DueAt, DoneAt: it.DoneAt}
		v.Stages[i].Items = append(v.Stages[i].Items, iv)
	}
	return v
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
