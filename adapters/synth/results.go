package synth

import (
	"fmt"
	"time"
)

var (
	labCategory     = cc("检验", coding(SNOMEDSystem, "108252007", "Laboratory procedure"))
	imagingCategory = cc("检查", coding(SNOMEDSystem, "363679005", "Imaging"))
	// Reports carry both the v2 diagnostic service section and the FHIR observation category,
	// so a reader can match either.
	labReportCategory = cc("检验",
		coding("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB", "Laboratory"),
		coding("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory", "Laboratory"))
	imagingReportCategory = cc("影像",
		coding("http://terminology.hl7.org/CodeSystem/v2-0074", "RAD", "Radiology"),
		coding("http://terminology.hl7.org/CodeSystem/observation-category", "imaging", "Imaging"))
	observationCategory = cc("检验", coding("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory", "Laboratory"))
)

var interpretations = map[string]obj{
	"N":  coding(InterpretationSystem, "N", "Normal"),
	"H":  coding(InterpretationSystem, "H", "High"),
	"L":  coding(InterpretationSystem, "L", "Low"),
	"HH": coding(InterpretationSystem, "HH", "Critical high"),
	"LL": coding(InterpretationSystem, "LL", "Critical low"),
	"A":  coding(InterpretationSystem, "A", "Abnormal"),
	"AA": coding(InterpretationSystem, "AA", "Critical abnormal"),
}

var interpretationText = map[string]string{"N": "正常", "H": "偏高", "L": "偏低", "HH": "危急值", "LL": "危急值", "A": "异常", "AA": "危急值"}

func interpretation(c string) obj { return cc(interpretationText[c], interpretations[c]) }

// results emits the stay's lab orders and the LIS's results for them. The LIS sends a result
// in one of three shapes, at random: a DiagnosticReport with the Observations contained (the
// usual LIS interface), separate Observations followed by a DiagnosticReport referring to them,
// or bare Observations.
func (b *builder) results(sc scenario, labs []plannedLab, enc, requester obj, visit string) {
	g, r := b.g, b.r
	// Critical values: CriticalShare of all lab results, placed on the tests that can be
	// critical. Planning the whole stay first keeps the share right whatever the panel mix.
	total, eligible := 0, 0
	for _, l := range labs {
		for _, a := range l.panel.analytes {
			total++
			if a.canBeCritical() {
				eligible++
			}
		}
	}
	pCritical := 0.0
	if eligible > 0 {
		pCritical = min(1, g.opt.CriticalShare*float64(total)/float64(eligible))
	}

	for _, l := range labs {
		p := l.panel
		srID := b.serviceRequest(l.at, labCategory,
			cc(p.display, coding(LOINCSystem, p.loinc, ""), coding(LocalLabSystem, p.local, p.display)),
			l.urgent, enc, requester, visit)
		collected := l.at.Add(minutes(r, 8, 40))
		issued := collected.Add(minutes(r, 40, 150))
		if l.urgent {
			issued = collected.Add(minutes(r, 20, 55))
		}

		style := r.IntN(100)
		contained := style < 45
		var obsRefs []obj
		var containedObs []obj
		for j, a := range p.analytes {
			critical := a.canBeCritical() && r.Float64() < pCritical
			v, code := b.value(sc, a, critical, l.onAdmission)
			var id string
			if contained {
				id = fmt.Sprintf("r%d", j+1)
			} else {
				id = b.id()
			}
			body := o(
				"resourceType", "Observation", "id", id,
				"basedOn", []obj{ref("ServiceRequest", srID, "", nil)},
				"status", "final",
				"category", []obj{observationCategory},
				"code", cc(a.display, coding(LOINCSystem, a.loinc, ""), coding(LocalLabSystem, a.local, a.display)),
				"subject", b.patientRef,
				"encounter", enc,
				"effectiveDateTime", g.dateTime(collected),
				"issued", g.dateTime(issued),
				"valueQuantity", quantity(v, a),
				"interpretation", []obj{interpretation(code)},
				"referenceRange", []obj{b.referenceRange(a)},
			)
			if contained {
				containedObs = append(containedObs, body)
				obsRefs = append(obsRefs, o("reference", "#"+id))
				continue
			}
			// meta goes right after id, as in every other resource here.
			body = append(body[:2], append(obj{{"meta", g.meta(issued)}}, body[2:]...)...)
			b.emit("Observation", id, LIS, issued, body)
			obsRefs = append(obsRefs, ref("Observation", id, "", nil))
		}
		if style >= 75 { // bare Observations
			continue
		}
		id := b.id()
		b.emit("DiagnosticReport", id, LIS, issued, o(
			"resourceType", "DiagnosticReport", "id", id, "meta", g.meta(issued),
			"contained", containedObs,
			"basedOn", []obj{ref("ServiceRequest", srID, "", nil)},
			"status", "final",
			"category", []obj{labReportCategory},
			"code", cc(p.display, coding(LOINCSystem, p.loinc, ""), coding(LocalLabSystem, p.local, p.display)),
			"subject", b.patientRef,
			"encounter", enc,
			"effectiveDateTime", g.dateTime(collected),
			"issued", g.dateTime(issued),
			"result", obsRefs,
		))
	}
}

func quantity(v float64, a analyte) obj {
	return o("value", decimal(v, a.prec), "unit", a.unit, "system", UCUMSystem, "code", a.ucum)
}

func (b *builder) limits(a analyte) (low, high float64) {
	if a == hemoglobin { // sex-specific, as Chinese labs report it
		if b.male {
			return 130, 175
		}
		return 115, 150
	}
	return a.low, a.high
}

func (b *builder) referenceRange(a analyte) obj {
	low, high := b.limits(a)
	q := func(v float64) obj {
		return o("value", decimal(v, a.prec), "unit", a.unit, "system", UCUMSystem, "code", a.ucum)
	}
	return o("low", q(low), "high", q(high),
		"text", fmt.Sprintf("%s-%s", decimal(low, a.prec), decimal(high, a.prec)))
}

// value draws a result and its interpretation. Abnormal values that are not critical stay
// short of the domain's default critical limits, so a local critical rule agrees with the
// flag and the critical share stays what was asked for.
func (b *builder) value(sc scenario, a analyte, critical, onAdmission bool) (float64, string) {
	r := b.r
	low, high := b.limits(a)
	uniform := func(x, y float64) float64 { return x + r.Float64()*(y-x) }
	if critical {
		lowOK, highOK := a.critLow != [2]float64{}, a.critHigh != [2]float64{}
		if lowOK && (!highOK || r.IntN(2) == 0) {
			return round(uniform(a.critLow[0], a.critLow[1]), a.prec), "LL"
		}
		return round(uniform(a.critHigh[0], a.critHigh[1]), a.prec), "HH"
	}
	// Results that follow from the diagnosis.
	switch {
	case a == troponinI && sc.key == STEMI:
		return round(uniform(0.3, 45), a.prec), "H"
	case a == cea && (sc.key == ColonCancer || sc.key == LungCancer) && r.Float64() < 0.6:
		return round(uniform(5.5, 80), a.prec), "H"
	case a == leukocytes && onAdmission && (sc.key == Appendicitis || sc.key == Pneumonia):
		return round(uniform(11, 19), a.prec), "H"
	case a == glucose && sc.key == Diabetes:
		return round(uniform(8, 19), a.prec), "H"
	}
	// Mildly abnormal: at most half way to the critical limit (or 50% past the range).
	mildLow, mildHigh := low*0.8, high*1.5
	if a.critLow != [2]float64{} {
		mildLow = low - (low-a.critLow[1])*0.5
	}
	if a.critHigh != [2]float64{} {
		mildHigh = high + (a.critHigh[0]-high)*0.5
	}
	switch p := r.Float64(); {
	case p < 0.07 && low > 0:
		return clampBelow(round(uniform(mildLow, low), a.prec), low, a.prec), "L"
	case p < 0.15:
		return clampAbove(round(uniform(high, mildHigh), a.prec), high, a.prec), "H"
	}
	span := high - low
	v := round(uniform(low+span*0.1, high-span*0.1), a.prec)
	return v, "N"
}

// round rounds half up to prec decimals; every value here is positive.
func round(v float64, prec int) float64 {
	f := pow10(prec)
	return float64(int64(v*f+0.5)) / f
}

// clampBelow/clampAbove keep a rounded abnormal value strictly outside the range it is
// flagged against (rounding could land exactly on the limit).
func clampBelow(v, limit float64, prec int) float64 {
	if v >= limit {
		return round(limit-step(prec), prec)
	}
	return v
}

func clampAbove(v, limit float64, prec int) float64 {
	if v <= limit {
		return round(limit+step(prec), prec)
	}
	return v
}

func step(prec int) float64 { return 1 / pow10(prec) }

func pow10(n int) float64 {
	f := 1.0
	for range n {
		f *= 10
	}
	return f
}

// imaging emits an imaging order and the PACS report for it.
func (b *builder) imaging(sc scenario, e exam, at time.Time, urgent bool, enc, requester obj, visit string) {
	g, r := b.g, b.r
	codes := []obj{}
	if e.loinc != "" {
		codes = append(codes, coding(LOINCSystem, e.loinc, ""))
	}
	codes = append(codes, coding(LocalExamSystem, e.local, e.display))
	examCode := cc(e.display, codes...)
	srID := b.serviceRequest(at, imagingCategory, examCode, urgent, enc, requester, visit)

	done := at.Add(minutes(r, 30, 240))
	if urgent {
		done = at.Add(minutes(r, 10, 45))
	}
	issued := done.Add(minutes(r, 30, 120))
	conclusion, flag := e.normal, "N"
	if diagnostic(sc.key, e) {
		conclusion, flag = e.abnormal, "A"
	}
	if e.critical != "" && r.Float64() < g.opt.CriticalShare {
		conclusion, flag = e.critical, "AA"
		issued = done.Add(minutes(r, 10, 30)) // a radiologist reports a critical finding first
	}
	id := b.id()
	b.emit("DiagnosticReport", id, PACS, issued, o(
		"resourceType", "DiagnosticReport", "id", id, "meta", g.meta(issued),
		"basedOn", []obj{ref("ServiceRequest", srID, "", nil)},
		"status", "final",
		"category", []obj{imagingReportCategory},
		"code", examCode,
		"subject", b.patientRef,
		"encounter", enc,
		"effectiveDateTime", g.dateTime(done),
		"issued", g.dateTime(issued),
		"conclusion", conclusion,
		"conclusionCode", []obj{interpretation(flag)},
	))
}

// diagnostic says whether exam e is the one that shows scenario key's disease.
func diagnostic(key string, e exam) bool {
	switch key {
	case ColonCancer:
		return e == abdoCT
	case Appendicitis:
		return e == abdoUS
	case STEMI:
		return e == echo
	case Stroke:
		return e == headCT
	case LungCancer:
		return e == chestCT
	case Pneumonia:
		return e == chestXR
	case HipFracture:
		return e == hipXR
	}
	return false
}
