package webui

import (
	"net/http"
	"sort"
	"time"
)

type cvRow struct {
	CV      criticalValue
	Patient patientInfo
	Ack     bool
	Handle  bool
}

type cvView struct {
	Rows      []cvRow
	IDs       string // the ids listed, for the live script to spot new ones
	FullNames bool
	NamesLink string
}

// criticalValues is the live inbox of open critical values, newest first. The page's script
// listens to the live stream and reloads the "list" fragment when a critical-value event
// arrives, so new values appear without a reload of the page.
func (u *UI) criticalValues(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx := r.Context()
	full, err := u.auditList(r, v)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	recs, err := u.records(ctx, v, kindCritical, "", true)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	ps := newPatients(u.cfg.Store, full)
	view := cvView{FullNames: full, NamesLink: namesToggle(r)}
	for _, rec := range recs {
		cv, err := decode[criticalValue](rec)
		if err != nil {
			u.log.Warn("critical values: skipping a record", "err", err)
			continue
		}
		p, err := ps.get(ctx, rec.Patient, firstNonEmpty(cv.Encounter, rec.Encounter))
		if err != nil {
			u.fail(w, r, v, err)
			return
		}
		view.Rows = append(view.Rows, cvRow{CV: cv, Patient: p, Ack: cv.needsAck(), Handle: cv.needsHandling()})
	}
	sort.SliceStable(view.Rows, func(i, j int) bool {
		a, b := view.Rows[i].CV.DetectedAt, view.Rows[j].CV.DetectedAt
		if a == nil || b == nil {
			return b == nil && a != nil
		}
		return a.After(*b)
	})
	for i, row := range view.Rows {
		if i > 0 {
			view.IDs += " "
		}
		view.IDs += row.CV.ID
	}
	p := u.view(r, v, "cv.title", view)
	p.Live = true
	u.render(w, r, http.StatusOK, "critical", p)
}

type fuRow struct {
	F       followUp
	Patient patientInfo
}

type fuView struct {
	Overdue, Today, Upcoming []fuRow
	FullNames                bool
	NamesLink                string
	TodayDate                string
}

// followUps is the follow-up worklist: overdue, due today, upcoming, with a form per contact
// to record an attempt and its outcome.
func (u *UI) followUps(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx := r.Context()
	full, err := u.auditList(r, v)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	recs, err := u.records(ctx, v, kindFollowUp, "", true)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	today := u.cfg.Now().In(u.cfg.Zone).Format(time.DateOnly)
	ps := newPatients(u.cfg.Store, full)
	view := fuView{FullNames: full, NamesLink: namesToggle(r), TodayDate: today}
	for _, rec := range recs {
		f, err := decode[followUp](rec)
		if err != nil {
			u.log.Warn("follow-ups: skipping a record", "err", err)
			continue
		}
		p, err := ps.get(ctx, rec.Patient, firstNonEmpty(f.Encounter, rec.Encounter))
		if err != nil {
			u.fail(w, r, v, err)
			return
		}
		row := fuRow{F: f, Patient: p}
		switch {
		case f.Status == "overdue":
			view.Overdue = append(view.Overdue, row)
		case f.Status == "due" || f.DueOn == today:
			view.Today = append(view.Today, row)
		default:
			view.Upcoming = append(view.Upcoming, row)
		}
	}
	for _, list := range [][]fuRow{view.Overdue, view.Today, view.Upcoming} {
		sort.SliceStable(list, func(i, j int) bool { return list[i].F.DueOn < list[j].F.DueOn })
	}
	u.render(w, r, http.StatusOK, "followup", u.view(r, v, "fu.title", view))
}
