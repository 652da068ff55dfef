package quality

import (
	"fmt"
	"slices"
)

// Text is a title or a definition in Chinese and English.
type Text struct {
	Zh string `json:"zh"`
	En string `json:"en"`
}

// Units of an indicator's value.
const (
	UnitPercent  = "%"
	UnitPermille = "‰"
	UnitPer100   = "per 100 discharges"
	UnitMinutes  = "minutes"
)

// Scorings, as FHIR Measure.scoring.
const (
	Proportion = "proportion"          // numerator / denominator, in the unit's scale
	Continuous = "continuous-variable" // the median of the rows' values
	Ratio      = "ratio"               // numerator and denominator count different things
)

// Improvement notations, as FHIR Measure.improvementNotation.
const (
	Increase = "increase"
	Decrease = "decrease"
)

// Target is a reference value with its direction: ">=" 80 (percent) or "<=" 1.8 (permille).
type Target struct {
	Comparator string  `json:"comparator"` // ">=" or "<="
	Value      float64 `json:"value"`
}

func (t Target) String() string { return fmt.Sprintf("%s %g", t.Comparator, t.Value) }

// Met says whether value meets the target.
func (t Target) Met(value float64) bool {
	if t.Comparator == "<=" {
		return value <= t.Value+1e-9
	}
	return value >= t.Value-1e-9
}

// Indicator is one entry of the catalogue.
type Indicator struct {
	ID          string `json:"id"`
	Title       Text   `json:"title"`
	Numerator   Text   `json:"numerator"`
	Denominator Text   `json:"denominator"`
	Exclusions  Text   `json:"exclusions"`
	// Time is the time dimension: which moment puts a row in a period.
	Time        string   `json:"time_dimension"`
	Stratifiers []string `json:"stratifiers"`
	Unit        string   `json:"unit"`
	Scoring     string   `json:"scoring"`
	Improvement string   `json:"improvement_notation"`
	Target      *Target  `json:"target"`
	// Source is the core that writes the rows: quality, criticalvalue, clinicalpath, followup.
	Source string `json:"source"`
	// Requires says what the hospital must send for the indicator to mean anything; when
	// that never came, the indicator is "insufficient data", not 0.
	Requires Text `json:"requires"`
	// NeedsNumerator: the evidence of the input is a numerator row (an adverse-event report),
	// not any row (the discharges counted against them come anyway).
	NeedsNumerator bool `json:"-"`
}

// Scale is what a proportion is multiplied by in the indicator's unit.
func (ind *Indicator) Scale() float64 {
	switch ind.Unit {
	case UnitPermille:
		return 1000
	case UnitPercent, UnitPer100:
		return 100
	}
	return 1
}

var stratifiers = []string{"department", "setting"}

func ge(v float64) *Target { return &Target{">=", v} }
func le(v float64) *Target { return &Target{"<=", v} }

// catalogue is the shipped indicator list (domain.md §1–§4); targets are the plan's, and a
// hospital's settings file changes them (Config.Targets).
var catalogue = []Indicator{
	{ID: "pathway-enrollment", Title: Text{"临床路径入径率", "Clinical pathway enrolment rate"},
		Numerator:   Text{"入径患者数", "qualifying discharges enrolled in a pathway"},
		Denominator: Text{"符合入径标准的出院患者数（第一诊断及手术符合已加载路径的准入标准）", "inpatient discharges whose principal diagnosis (and operation, where the pathway names one) meets a loaded pathway's entry criteria"},
		Exclusions:  Text{"无（作废的诊断不计）", "none (withdrawn diagnoses do not count)"},
		Time:        "discharge", Unit: UnitPercent, Scoring: Proportion, Improvement: Increase, Target: ge(50), Source: "quality",
		Requires: Text{"路径定义及住院患者的入出院、诊断数据", "pathway definitions, inpatient admissions, discharges and diagnoses"}},
	{ID: "pathway-completion", Title: Text{"临床路径完成率", "Clinical pathway completion rate"},
		Numerator:   Text{"完成路径（含变异完成）的患者数", "enrolled discharges that completed the pathway (standard or variant)"},
		Denominator: Text{"入径且已出院的患者数", "enrolled discharges"}, Exclusions: Text{"尚未出院者", "patients still in hospital"},
		Time: "discharge", Unit: UnitPercent, Scoring: Proportion, Improvement: Increase, Target: ge(70), Source: "clinicalpath",
		Requires: Text{"路径定义及住院患者数据", "pathway definitions and inpatient data"}},
	{ID: "pathway-withdrawal", Title: Text{"临床路径退出率", "Clinical pathway withdrawal rate"},
		Numerator:   Text{"退出路径的患者数", "enrolled discharges withdrawn from the pathway"},
		Denominator: Text{"入径且已出院的患者数", "enrolled discharges"}, Exclusions: Text{"尚未出院者", "patients still in hospital"},
		Time: "discharge", Unit: UnitPercent, Scoring: Proportion, Improvement: Decrease, Source: "clinicalpath",
		Requires: Text{"路径定义及住院患者数据", "pathway definitions and inpatient data"}},
	{ID: "pathway-variance", Title: Text{"临床路径变异率", "Clinical pathway variance rate"},
		Numerator:   Text{"发生至少一次负性变异的患者数", "enrolled discharges with at least one negative variance"},
		Denominator: Text{"入径且已出院的患者数", "enrolled discharges"}, Exclusions: Text{"尚未出院者", "patients still in hospital"},
		Time: "discharge", Unit: UnitPercent, Scoring: Proportion, Improvement: Decrease, Target: le(15), Source: "clinicalpath",
		Requires: Text{"路径定义及住院患者数据", "pathway definitions and inpatient data"}},
	{ID: "cv-notification-rate", Title: Text{"危急值通报率", "Critical-value notification rate"},
		Numerator:   Text{"已通报的危急值数", "critical values notified to the responsible ward or clinic"},
		Denominator: Text{"检出的危急值数", "critical values detected"}, Exclusions: Text{"撤回（录入错误、更正为非危急）的危急值", "recalled critical values (entered in error, corrected to a non-critical value)"},
		Time: "release", Unit: UnitPercent, Scoring: Proportion, Improvement: Increase, Target: ge(100), Source: "criticalvalue",
		Requires: Text{"检验（LIS）或影像（PACS）结果", "lab (LIS) or imaging (PACS) results"}},
	{ID: "cv-notification-timeliness", Title: Text{"危急值通报及时率", "Critical-value notification timeliness"},
		Numerator:   Text{"在时限内（默认发布后15分钟）通报的危急值数", "critical values notified within the limit of their release (15 min by default)"},
		Denominator: Text{"检出的危急值数", "critical values detected"}, Exclusions: Text{"撤回的危急值", "recalled critical values"},
		Time: "release", Unit: UnitPercent, Scoring: Proportion, Improvement: Increase, Source: "criticalvalue",
		Requires: Text{"检验（LIS）或影像（PACS）结果", "lab (LIS) or imaging (PACS) results"}},
	{ID: "cv-median-ack-minutes", Title: Text{"危急值报告时间中位数", "Median critical-value reporting time"},
		Numerator:   Text{"各危急值自发布至确认（复述）的分钟数，取中位数", "minutes from release to acknowledgement with read-back, median"},
		Denominator: Text{"已确认的危急值数", "critical values acknowledged"}, Exclusions: Text{"撤回的危急值", "recalled critical values"},
		Time: "release", Unit: UnitMinutes, Scoring: Continuous, Improvement: Decrease, Source: "criticalvalue",
		Requires: Text{"检验（LIS）或影像（PACS）结果及确认记录", "lab or imaging results and acknowledgements"}},
	{ID: "cv-same-day-handling", Title: Text{"住院危急值当日处置率", "Same-day handling rate of inpatient critical values"},
		Numerator:   Text{"确认后24小时内记录处置的住院危急值数", "inpatient critical values handled within 24 h of acknowledgement"},
		Denominator: Text{"已确认的住院危急值数", "inpatient critical values acknowledged"}, Exclusions: Text{"撤回的危急值；门急诊危急值", "recalled critical values; outpatient and emergency ones"},
		Time: "release", Unit: UnitPercent, Scoring: Proportion, Improvement: Increase, Source: "criticalvalue",
		Requires: Text{"住院患者的检验或影像结果及确认记录", "inpatient results and acknowledgements"}},
	{ID: "fu-grade4-rate", Title: Text{"四级手术患者随访率", "Follow-up rate after grade-four surgery"},
		Numerator:   Text{"术后一年内至少完成一次随访的出院人次", "discharges with a follow-up contact done within a year of the operation"},
		Denominator: Text{"四级手术后存活出院人次", "discharges alive after a grade-four operation"}, Exclusions: Text{"院内死亡；随访沿用前次住院者", "in-hospital deaths; stays whose schedule is carried from an earlier one"},
		Time: "discharge", Unit: UnitPercent, Scoring: Proportion, Improvement: Increase, Source: "followup",
		Requires: Text{"带手术分级的手术记录", "operations with their surgery grade"}},
	{ID: "fu-cancer-rate", Title: Text{"恶性肿瘤患者随访率", "Follow-up rate of malignant tumours"},
		Numerator:   Text{"出院一年内至少完成一次随访的出院人次", "discharges with a follow-up contact done within a year"},
		Denominator: Text{"诊断恶性肿瘤（C00–C97）的存活出院人次", "discharges alive with a malignant tumour (C00–C97)"}, Exclusions: Text{"院内死亡；随访沿用前次住院者", "in-hospital deaths; carried schedules"},
		Time: "discharge", Unit: UnitPercent, Scoring: Proportion, Improvement: Increase, Source: "followup",
		Requires: Text{"ICD-10诊断", "ICD-10 diagnoses"}},
	{ID: "fu-timeliness", Title: Text{"随访及时率", "Follow-up timeliness"},
		Numerator:   Text{"在随访窗口内完成的随访次数", "contacts done inside their window"},
		Denominator: Text{"已到期（窗口已开始）的随访次数", "contacts due (window begun)"}, Exclusions: Text{"已取消的随访（患者死亡）", "cancelled contacts (the patient died)"},
		Time: "due date", Unit: UnitPercent, Scoring: Proportion, Improvement: Increase, Source: "followup",
		Requires: Text{"随访对象（四级手术或恶性肿瘤出院患者）", "patients to follow up (grade-four surgery or malignant tumour)"}},
	{ID: "fu-lost", Title: Text{"失访率", "Lost-to-follow-up rate"},
		Numerator:   Text{"失访（连续3次联系失败）的出院人次", "followed discharges whose patient is lost (3 failed attempts by default)"},
		Denominator: Text{"纳入随访的出院人次", "followed discharges"}, Exclusions: Text{"随访沿用前次住院者", "carried schedules"},
		Time: "discharge", Unit: UnitPercent, Scoring: Proportion, Improvement: Decrease, Source: "followup",
		Requires: Text{"随访对象", "patients to follow up"}},
	{ID: "readmission-31d", Title: Text{"出院31天内非预期再住院率", "Unplanned readmission within 31 days"},
		Numerator:   Text{"出院后31天内（出院当日为第1天）非计划再次住院的出院人次", "discharges followed by an unplanned inpatient admission by day 31 (the discharge day is day 1)"},
		Denominator: Text{"存活出院人次", "inpatient discharges alive"}, Exclusions: Text{"院内死亡", "in-hospital deaths"},
		Time: "discharge", Unit: UnitPercent, Scoring: Proportion, Improvement: Decrease, Source: "quality",
		Requires: Text{"住院患者入出院数据", "inpatient admissions and discharges"}},
	{ID: "return-to-theatre", Title: Text{"非计划重返手术室再手术率", "Unplanned return to theatre"},
		Numerator:   Text{"非计划再次手术例数（同次住院或31天内）", "unplanned reoperations (same admission or within 31 days of the previous operation)"},
		Denominator: Text{"出院患者手术例数", "operations of discharged patients"}, Exclusions: Text{"计划再次手术", "planned reoperations (in the denominator only)"},
		Time: "discharge", Unit: UnitPermille, Scoring: Proportion, Improvement: Decrease, Target: le(1.8), Source: "quality",
		Requires: Text{"手术记录（分级或手术类别）", "operations (graded or categorised surgical)"}},
	{ID: "return-to-theatre-48h", Title: Text{"术后48小时内非计划重返手术室率", "Unplanned return to theatre within 48 h"},
		Numerator:   Text{"距前次手术开始48小时内的非计划再次手术例数", "unplanned reoperations starting within 48 h of the previous operation's start"},
		Denominator: Text{"出院患者手术例数", "operations of discharged patients"}, Exclusions: Text{"计划再次手术", "planned reoperations"},
		Time: "discharge", Unit: UnitPermille, Scoring: Proportion, Improvement: Decrease, Source: "quality",
		Requires: Text{"手术记录", "operations"}},
	{ID: "return-to-theatre-31d", Title: Text{"术后31天内非计划重返手术室率", "Unplanned return to theatre within 31 days"},
		Numerator:   Text{"前次手术后31天内（手术当日为第1天）的非计划再次手术例数", "unplanned reoperations by day 31 after the previous operation (its day is day 1)"},
		Denominator: Text{"出院患者手术例数", "operations of discharged patients"}, Exclusions: Text{"计划再次手术", "planned reoperations"},
		Time: "discharge", Unit: UnitPermille, Scoring: Proportion, Improvement: Decrease, Source: "quality",
		Requires: Text{"手术记录", "operations"}},
	{ID: "postop-acquired", Title: Text{"手术患者术后获得性指标发生率", "Post-operative acquired condition rate"},
		Numerator:   Text{"术后新发列表所列并发症（肺栓塞、深静脉血栓、败血症、T81、急性肾衰竭、呼吸衰竭等）的手术出院人次", "surgical discharges with a listed condition arising after the operation (PE, DVT, sepsis, T81, acute renal failure, respiratory failure…)"},
		Denominator: Text{"手术患者出院人次", "surgical discharges"}, Exclusions: Text{"入院诊断已有的同一疾病", "the same condition present on admission"},
		Time: "discharge", Unit: UnitPermille, Scoring: Proportion, Improvement: Decrease, Target: le(7.5), Source: "quality",
		Requires: Text{"手术记录及ICD-10诊断", "operations and ICD-10 diagnoses"}},
	{ID: "grade4-mdt", Title: Text{"四级手术术前多学科讨论完成率", "Grade-four pre-operative MDT completion"},
		Numerator:   Text{"术前有多学科讨论（MDT）记录的四级手术例数", "grade-four operations with an MDT document before the operation"},
		Denominator: Text{"四级手术例数", "grade-four operations"}, Exclusions: Text{"急诊四级手术", "emergency grade-four operations"},
		Time: "discharge", Unit: UnitPercent, Scoring: Proportion, Improvement: Increase, Target: ge(100), Source: "quality",
		Requires: Text{"带手术分级的手术记录及MDT文书", "graded operations and MDT documents"}},
	{ID: "stemi-reperfusion", Title: Text{"STEMI患者发病12小时内再灌注率", "STEMI reperfusion within 12 h of onset"},
		Numerator:   Text{"发病12小时内接受PCI或溶栓的患者数", "patients reperfused (PCI or thrombolysis) within 12 h of onset"},
		Denominator: Text{"发病12小时内到院的STEMI出院患者数", "STEMI discharges arriving within 12 h of onset"},
		Exclusions:  Text{"发病时间不详；发病12小时后到院", "onset unknown; arrival more than 12 h after onset"},
		Time:        "discharge", Unit: UnitPercent, Scoring: Proportion, Improvement: Increase, Target: ge(80), Source: "quality",
		Requires: Text{"第一诊断为STEMI且含发病时间的诊断", "STEMI principal diagnoses with the onset time"}},
	{ID: "stroke-reperfusion", Title: Text{"急性缺血性脑卒中再灌注率", "Acute ischaemic stroke reperfusion"},
		Numerator:   Text{"时间窗内接受静脉溶栓或取栓的患者数", "patients reperfused (thrombolysis or thrombectomy) within the window of onset"},
		Denominator: Text{"时间窗内到院的急性缺血性脑卒中出院患者数", "acute ischaemic stroke discharges arriving within the window of onset"},
		Exclusions:  Text{"发病时间不详；超时间窗到院", "onset unknown; arrival beyond the window"},
		Time:        "discharge", Unit: UnitPercent, Scoring: Proportion, Improvement: Increase, Target: ge(45), Source: "quality",
		Requires: Text{"第一诊断为急性缺血性脑卒中（I63）且含发病时间的诊断", "ischaemic stroke (I63) principal diagnoses with the onset time"}},
	{ID: "adverse-events-per-100", Title: Text{"每百名出院患者不良事件报告数", "Adverse-event reports per 100 discharges"},
		Numerator:   Text{"不良事件报告数（AdverseEvent）", "adverse-event reports (AdverseEvent resources), by their date"},
		Denominator: Text{"出院人次", "inpatient discharges"}, Exclusions: Text{"作废的报告", "withdrawn reports"},
		Time: "discharge (reports: their date)", Unit: UnitPer100, Scoring: Ratio, Improvement: Increase, Target: ge(2.5), Source: "quality",
		Requires: Text{"不良事件报告（AdverseEvent资源）", "adverse-event reports (AdverseEvent resources)"}, NeedsNumerator: true},
	{ID: "coding-accuracy", Title: Text{"主要诊断编码正确率", "Principal-diagnosis coding accuracy"},
		Numerator:   Text{"编码员核定主要诊断编码正确的出院人次", "audited discharges whose principal-diagnosis code the coder found correct"},
		Denominator: Text{"经编码员核查的出院人次", "discharges with a coder's verdict"}, Exclusions: Text{"未核查者", "discharges not audited"},
		Time: "discharge", Unit: UnitPercent, Scoring: Proportion, Improvement: Increase, Target: ge(90), Source: "quality",
		Requires: Text{"编码员核查结论（Observation coding-audit）", "coders' verdicts (Observation coding-audit)"}},
}

func init() {
	for i := range catalogue {
		catalogue[i].Stratifiers = stratifiers
	}
}

// IDs lists the catalogue's indicator ids in catalogue order.
func IDs() []string {
	out := make([]string, len(catalogue))
	for i, ind := range catalogue {
		out[i] = ind.ID
	}
	return out
}

// Catalogue returns the indicators with the targets of cfg (nil: the shipped ones).
func Catalogue(cfg *Config) []Indicator {
	out := slices.Clone(catalogue)
	if cfg == nil {
		return out
	}
	for i := range out {
		if t, ok := cfg.Targets[out[i].ID]; ok {
			out[i].Target = t
		}
	}
	return out
}

// Lookup returns the indicator of id from the catalogue of cfg.
func Lookup(cfg *Config, id string) (Indicator, bool) {
	for _, ind := range Catalogue(cfg) {
		if ind.ID == id {
			return ind, true
		}
	}
	return Indicator{}, false
}
