package synth

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// HISDocumentTypeSystem codes the HIS's clinical document types (病历文书类型). The code map
// document-kinds (mapping/codemap/maps) maps them to Lujing's document kinds: 101 住院医师查房
// → round-resident, 102 主治医师查房 → round-attending, 103 主任医师查房 → round-chief,
// 201 交接班 → handover, 301 多学科讨论 → mdt.
const HISDocumentTypeSystem = BaseURL + "/CodeSystem/his-document-type"

// Shares of stays in which a kind of document is missing, so that pathways see variances.
const (
	missFirstRounds = 0.04 // no round on the first two days after admission
	missPreOpRound  = 0.05 // the operating surgeon's round within 24 h before the operation
	missPostOpRound = 0.05 // … and after it
	missHandover    = 0.06 // the bedside handover on the day of a grade-four operation
	missMDT         = 0.06 // the pre-operative MDT for colon cancer
)

// roundCodes are the HIS document type of a ward round by the doctor's title.
var roundCodes = map[string][2]string{
	"住院医师": {"101", "住院医师查房记录"},
	"主治医师": {"102", "主治医师查房记录"},
	"主任医师": {"103", "主任医师查房记录"},
}

// docRand is the story's random stream for documents, apart from the one the rest of the
// story draws on: adding documents changed no other resource of a seed's stories.
func (b *builder) docRand() *rand.Rand {
	if b.docR == nil {
		b.docR = rand.New(rand.NewPCG(uint64(b.g.seed)^0x646f6373, uint64(b.idx)<<1|1)) // "docs"
	}
	return b.docR
}

// docID is the next document id of this story, in a namespace of its own for the same reason.
func (b *builder) docID() string {
	b.docs++
	return nameUUID(fmt.Sprintf("%d/%d/doc/%d", b.g.seed, b.idx, b.docs))
}

// stayDocuments emits the HIS's clinical documents of one stay: a morning ward round by the
// attending every day after admission, the operating surgeon's rounds within 24 h before
// and after an operation, the bedside handover on the day of a grade-four operation and,
// for colon cancer, the pre-operative MDT. Each is missing for a small share of stays.
// Nothing is written at or after discharge (or death).
func (b *builder) stayDocuments(sc scenario, dept deptRefs, enc obj, attending, surgeon doctor,
	admit, discharge time.Time, op *operation, opStart, opEnd time.Time) {
	r := b.docRand()
	at := func(t time.Time, days, fromMin, toMin int) time.Time {
		lt := t.In(b.g.opt.Zone)
		sec := fromMin*60 + r.IntN((toMin-fromMin)*60+1)
		return time.Date(lt.Year(), lt.Month(), lt.Day()+days, 0, 0, sec, 0, b.g.opt.Zone)
	}
	emit := func(t time.Time, code [2]string, author doctor, title string) {
		if t.Before(admit) || !t.Before(discharge) {
			return
		}
		b.document(t, code, author, title, enc)
	}

	skipFirst := r.Float64() < missFirstRounds
	for day := 1; ; day++ {
		t := at(admit, day, 7*60+30, 8*60+50)
		if !t.Before(discharge) {
			break
		}
		if skipFirst && day <= 2 {
			continue
		}
		emit(t, roundCodes[attending.title], attending, "日常查房")
	}

	if op == nil || op.grade == 0 {
		return
	}
	missPre, missPost := r.Float64() < missPreOpRound, r.Float64() < missPostOpRound
	missHand, missMdt := r.Float64() < missHandover, r.Float64() < missMDT
	if sc.opDay != [2]int{0, 0} && !missPre { // no round between door and balloon in primary PCI
		t := at(opStart, -1, 16*60, 18*60)
		if t.Before(admit.Add(10 * time.Minute)) {
			t = opStart.Add(-minutes(r, 30, 90))
			if t.Before(admit.Add(10 * time.Minute)) {
				t = admit.Add(10 * time.Minute)
			}
		}
		if t.Before(opStart) {
			emit(t, roundCodes[surgeon.title], surgeon, "术前查房")
		}
	}
	if !missPost {
		emit(opEnd.Add(minutes(r, 60, 240)), roundCodes[surgeon.title], surgeon, "术后查房")
	}
	if op.grade == 4 && !missHand {
		t := at(opStart, 0, 17*60+30, 18*60+30)
		if earliest := opEnd.Add(minutes(r, 30, 90)); t.Before(earliest) {
			t = earliest
		}
		emit(t, [2]string{"201", "交接班记录"}, dept.doctors[len(dept.doctors)-1], "术后床旁交接班")
	}
	if sc.key == ColonCancer && !missMdt {
		t := at(opStart, -1, 14*60, 15*60+30)
		if t.Before(admit.Add(time.Hour)) {
			t = admit.Add(minutes(r, 60, 120))
		}
		if t.Before(opStart) {
			emit(t, [2]string{"301", "多学科讨论记录"}, dept.doctors[0], "术前多学科讨论")
		}
	}
}

// document emits one DocumentReference as the HIS's EMR sends it: typed with the HIS's
// document type code, authored by the doctor, for the encounter.
func (b *builder) document(t time.Time, code [2]string, author doctor, title string, enc obj) {
	g := b.g
	id := b.docID()
	b.emit("DocumentReference", id, HIS, t, o(
		"resourceType", "DocumentReference", "id", id, "meta", g.meta(t),
		"status", "current",
		"docStatus", "final",
		"type", cc(code[1], coding(HISDocumentTypeSystem, code[0], code[1])),
		"subject", b.patientRef,
		"date", g.dateTime(t),
		"author", []obj{author.ref},
		"description", title,
		"content", []obj{o("attachment", o("contentType", "text/plain", "language", "zh-CN", "title", code[1]+"："+title))},
		"context", o("encounter", []obj{enc}, "period", o("start", g.dateTime(t))),
	))
}
