package mapping

// patient maps Patient.deceased[x] to died. A later version of a patient who is not
// deceased withdraws an earlier death (a death entered in error).
func (j *job) patient() error {
	p, err := j.r.Patient()
	if err != nil {
		return err
	}
	key := j.ref + "#" + KindDied
	switch {
	case p.DeceasedDateTime != nil:
		j.event(KindDied, key, j.ref, "", j.at(j.time(p.DeceasedDateTime)), DiedData{TimeKnown: true})
	case p.DeceasedBoolean != nil && *p.DeceasedBoolean:
		j.event(KindDied, key, j.ref, "", j.at(), DiedData{})
	case j.in.Version > 1:
		// Any later version of a living patient says so; its time matters to no one.
		j.event(KindCancelled, key, j.ref, "", j.r.Meta.LastUpdated, CancelledData{Cancels: KindDied, Reason: "alive"})
	}
	return nil
}

// adverseEvent maps an AdverseEvent report to adverse_event.
func (j *job) adverseEvent() error {
	a, err := j.r.AdverseEvent()
	if err != nil {
		return err
	}
	patient, ok, err := j.subject(&a.Subject, "AdverseEvent.subject")
	if !ok || err != nil {
		return err
	}
	enc := j.encounterOf(a.Encounter)
	d := AdverseEventData{Actuality: a.Actuality.Code(), Categories: allCodes(a.Category),
		Seriousness: firstCode(a.Seriousness), Severity: firstCode(a.Severity), Outcome: firstCode(a.Outcome),
		Recorder: refOf(a.Recorder), Detected: j.time(a.Detected), Recorded: j.time(a.RecordedDate)}
	if a.Event != nil {
		c := j.concept(a.Event, false)
		d.Event = &c
	}
	for _, s := range a.SuspectEntity {
		if r := refOf(&s.Instance); r != nil && r.Reference != "" {
			d.Suspects = append(d.Suspects, r.Reference)
		}
	}
	j.event(KindAdverseEvent, j.ref+"#"+KindAdverseEvent, patient, enc, j.at(j.time(a.Date), d.Detected, d.Recorded), d)
	return nil
}
