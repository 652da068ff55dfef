package synth

// The clinical catalogue the stories draw on: diagnoses (ICD-10, with Chinese clinical
// edition-like codes where the domain reference names them), operations (ICD-9-CM-3 with the
// demo hospital's surgery grade), lab tests (LOINC with the LIS's local code) and imaging
// exams (LOINC where one is well known, else only the PACS's local code).

type code struct{ code, display string }

// analyte is one lab result the LIS reports.
type analyte struct {
	loinc, local, display string
	unit, ucum            string
	low, high             float64 // reference range
	prec                  int     // decimals the LIS reports
	// critLow/critHigh are typical critical values; 0 when the test has no critical rule
	// in the domain defaults (so it is never made critical).
	critLow, critHigh [2]float64
}

func (a analyte) canBeCritical() bool { return a.critLow != [2]float64{} || a.critHigh != [2]float64{} }

var (
	potassium  = analyte{"2823-3", "K", "钾", "mmol/L", "mmol/L", 3.5, 5.3, 2, [2]float64{2.0, 2.7}, [2]float64{6.3, 7.5}}
	sodium     = analyte{"2951-2", "NA", "钠", "mmol/L", "mmol/L", 137, 147, 1, [2]float64{108, 119}, [2]float64{161, 170}}
	chloride   = analyte{"2075-0", "CL", "氯", "mmol/L", "mmol/L", 99, 110, 1, [2]float64{}, [2]float64{}}
	glucose    = analyte{"2345-7", "GLU", "葡萄糖", "mmol/L", "mmol/L", 3.9, 6.1, 2, [2]float64{1.2, 2.1}, [2]float64{22.5, 33.0}}
	hemoglobin = analyte{"718-7", "HGB", "血红蛋白", "g/L", "g/L", 115, 175, 0, [2]float64{35, 49}, [2]float64{}}
	platelets  = analyte{"777-3", "PLT", "血小板计数", "10^9/L", "10*9/L", 125, 350, 0, [2]float64{5, 29}, [2]float64{}}
	leukocytes = analyte{"6690-2", "WBC", "白细胞计数", "10^9/L", "10*9/L", 3.5, 9.5, 2, [2]float64{}, [2]float64{}}
	cea        = analyte{"2039-6", "CEA", "癌胚抗原", "ng/mL", "ng/mL", 0, 5, 2, [2]float64{}, [2]float64{}}
	troponinI  = analyte{"10839-9", "CTNI", "肌钙蛋白I", "ng/mL", "ng/mL", 0, 0.04, 3, [2]float64{}, [2]float64{}}
	inr        = analyte{"6301-6", "INR", "国际标准化比值", "INR", "{INR}", 0.8, 1.2, 2, [2]float64{}, [2]float64{5.2, 8.0}}
)

// panel is a lab order: one ServiceRequest, reported as one or more Observations.
type panel struct {
	loinc, local, display string
	analytes              []analyte
}

var (
	electrolytes = panel{"24326-1", "ELEC", "电解质", []analyte{potassium, sodium, chloride}}
	bloodCount   = panel{"58410-2", "CBC", "血常规", []analyte{leukocytes, hemoglobin, platelets}}
	glucoseTest  = panel{"2345-7", "GLU", "血糖", []analyte{glucose}}
	ceaTest      = panel{"2039-6", "CEA", "癌胚抗原", []analyte{cea}}
	troponinTest = panel{"10839-9", "CTNI", "肌钙蛋白I", []analyte{troponinI}}
	inrTest      = panel{"6301-6", "INR", "凝血酶原时间INR", []analyte{inr}}
)

// exam is an imaging order and what its report may say.
type exam struct {
	loinc, local, display string // loinc may be empty: not every local exam has one
	normal, abnormal      string
	critical              string // empty when the exam never carries a critical finding here
}

var (
	chestXR = exam{"36643-5", "DR-CHEST", "胸部正侧位片",
		"双肺纹理清晰，未见实变影，心影大小正常。", "右下肺斑片状模糊影，考虑炎症。", "右侧气胸，右肺组织压缩约70%，纵隔左移。"}
	chestCT = exam{"24627-2", "CT-CHEST", "胸部CT平扫",
		"双肺未见明显异常密度影。", "右肺上叶见软组织肿块，大小约3.2cm×2.8cm，考虑周围型肺癌。", "双侧肺动脉主干充盈缺损，考虑肺栓塞。"}
	abdoCT = exam{"36813-4", "CT-ABD-E", "全腹部增强CT",
		"腹部脏器未见明显异常。", "升结肠壁不规则增厚，浆膜面毛糙，周围见小淋巴结，考虑结肠癌。", "膈下及腹腔内见游离气体，考虑消化道穿孔。"}
	abdoUS = exam{"24558-9", "US-ABD", "腹部超声",
		"肝胆胰脾未见明显异常。", "右下腹阑尾增粗，直径约9mm，周围少量渗出，符合急性阑尾炎。", "腹腔大量积液，考虑腹腔内出血。"}
	echo = exam{"34552-0", "US-ECHO", "超声心动图",
		"各房室大小正常，室壁运动协调，LVEF 62%。", "左室前壁节段性运动减低，LVEF 45%。", "大量心包积液，右室舒张期塌陷，考虑心包填塞。"}
	headCT = exam{"24725-4", "CT-HEAD", "头颅CT平扫",
		"脑实质未见明显异常密度影。", "左侧基底节区片状低密度影，考虑脑梗死。", "右侧颞叶脑出血，出血量约35ml，中线结构左移。"}
	hipXR = exam{"", "DR-HIP", "髋关节正侧位片",
		"双髋关节未见骨折。", "右股骨颈骨折，断端错位。", ""}
)

// operation is an ICD-9-CM-3 procedure; grade 0 marks a procedure that is not an operation.
type operation struct {
	code, display string
	grade         int
}

var (
	rightHemicolectomy    = operation{"45.73", "右半结肠切除术", 4}
	lapRightHemicolectomy = operation{"17.33", "腹腔镜下右半结肠切除术", 4}
	lapAppendectomy       = operation{"47.01", "腹腔镜下阑尾切除术", 3}
	lapAppendectomySimple = operation{"47.01", "腹腔镜下阑尾切除术", 2} // same code, graded lower when uncomplicated
	openAppendectomy      = operation{"47.09", "阑尾切除术", 2}
	pci                   = operation{"00.66", "经皮冠状动脉腔内血管成形术[PTCA]", 4}
	thrombolysis          = operation{"99.10", "注射或输注血栓溶解剂", 0}
	totalHipReplacement   = operation{"81.51", "全髋关节置换术", 4}
	partialHipReplacement = operation{"81.52", "部分髋关节置换术", 3}
	exploratoryLaparotomy = operation{"54.11", "剖腹探查术", 3}
)

// Secondary diagnoses: comorbidities present on admission, and post-operative complications
// (the codes the "post-op acquired condition" indicator looks for).
var (
	comorbidities = []code{{"I10", "高血压"}, {"E11.9", "2型糖尿病"}, {"E78.5", "高脂血症"}, {"J44.9", "慢性阻塞性肺疾病"}}
	complications = []code{{"T81.4", "手术后切口感染"}, {"I80.2", "下肢深静脉血栓形成"}, {"I26.9", "肺栓塞"}, {"N17.9", "急性肾衰竭"}, {"J96.0", "急性呼吸衰竭"}}
)

// labDay is the lab work ordered on a day of the stay, counted from the stay's anchor.
type labDay struct {
	day    int // 0 = anchor day; draws on day 0 follow the anchor, later ones are early morning
	panels []panel
}

type examDay struct {
	day  int
	exam exam
}

// scenario is one kind of admission.
type scenario struct {
	key      string
	weight   int
	deptCode string
	dept     int // index into Generator.depts, resolved in New
	dx       []code
	stay     [2]int // standard length of stay in days (inclusive)
	overstay [2]int // a stay beyond the standard, for some patients: a pathway variance
	age      [2]int
	maleP    float64
	urgent   bool // admitted through the emergency department, at any hour

	// op is chosen from ops (empty: no operation); opDay is when, in days after admission
	// (0 = within hours of admission); opShare is the share of patients who get it.
	ops     []operation
	opDay   [2]int
	opShare float64

	admitLabs []labDay // anchored at admission
	postLabs  []labDay // anchored at the operation (post-operative day N)
	exams     []examDay
}

var scenarios = []scenario{
	{
		key: ColonCancer, weight: 20, deptCode: "GI-SURG",
		dx:   []code{{"C18.2", "升结肠恶性肿瘤"}, {"C18.200x001", "升结肠恶性肿瘤"}, {"C18.0", "盲肠恶性肿瘤"}, {"C18.3", "结肠肝曲恶性肿瘤"}},
		stay: [2]int{14, 21}, overstay: [2]int{22, 28}, age: [2]int{45, 85}, maleP: 0.55,
		ops: []operation{rightHemicolectomy, rightHemicolectomy, lapRightHemicolectomy}, opDay: [2]int{3, 5}, opShare: 0.95,
		admitLabs: []labDay{{0, []panel{bloodCount, electrolytes, glucoseTest, inrTest, ceaTest}}, {2, []panel{bloodCount, electrolytes}}},
		postLabs:  []labDay{{1, []panel{bloodCount, electrolytes}}, {3, []panel{bloodCount, electrolytes}}, {5, []panel{electrolytes}}, {8, []panel{bloodCount}}},
		exams:     []examDay{{0, chestXR}, {1, abdoCT}},
	},
	{
		key: STEMI, weight: 20, deptCode: "CARDIO", urgent: true,
		dx:   []code{{"I21.0", "急性前壁ST段抬高型心肌梗死"}, {"I21.1", "急性下壁ST段抬高型心肌梗死"}, {"I21.2", "急性其他部位ST段抬高型心肌梗死"}, {"I21.3", "急性ST段抬高型心肌梗死"}},
		stay: [2]int{7, 14}, overstay: [2]int{15, 20}, age: [2]int{40, 88}, maleP: 0.75,
		ops: []operation{pci}, opDay: [2]int{0, 0}, opShare: 0.85, // the rest: thrombolysis or conservative care
		admitLabs: []labDay{{0, []panel{troponinTest, electrolytes, bloodCount, glucoseTest, inrTest}}, {1, []panel{troponinTest, electrolytes, bloodCount}}, {2, []panel{electrolytes}}, {3, []panel{troponinTest}}, {5, []panel{electrolytes, bloodCount}}},
		exams:     []examDay{{0, chestXR}, {1, echo}},
	},
	{
		key: Appendicitis, weight: 25, deptCode: "GEN-SURG", urgent: true,
		dx:   []code{{"K35.8", "急性阑尾炎"}},
		stay: [2]int{3, 7}, overstay: [2]int{8, 11}, age: [2]int{12, 75}, maleP: 0.5,
		ops: []operation{lapAppendectomy, lapAppendectomySimple, lapAppendectomySimple, openAppendectomy}, opDay: [2]int{0, 1}, opShare: 0.97,
		admitLabs: []labDay{{0, []panel{bloodCount, electrolytes, glucoseTest}}},
		postLabs:  []labDay{{1, []panel{bloodCount}}, {3, []panel{bloodCount, electrolytes}}},
		exams:     []examDay{{0, abdoUS}},
	},
	{
		key: Pneumonia, weight: 10, deptCode: "RESP",
		dx:   []code{{"J18.9", "肺炎"}},
		stay: [2]int{5, 10}, age: [2]int{20, 92}, maleP: 0.55,
		admitLabs: []labDay{{0, []panel{bloodCount, electrolytes, glucoseTest}}, {3, []panel{bloodCount}}, {6, []panel{bloodCount, electrolytes}}},
		exams:     []examDay{{0, chestXR}, {1, chestCT}},
	},
	{
		key: Stroke, weight: 8, deptCode: "NEURO", urgent: true,
		dx:   []code{{"I63.9", "脑梗死"}},
		stay: [2]int{7, 14}, age: [2]int{50, 92}, maleP: 0.6,
		ops: []operation{thrombolysis}, opDay: [2]int{0, 0}, opShare: 0.35,
		admitLabs: []labDay{{0, []panel{bloodCount, electrolytes, glucoseTest, inrTest}}, {2, []panel{electrolytes}}, {5, []panel{bloodCount}}},
		exams:     []examDay{{0, headCT}},
	},
	{
		key: Diabetes, weight: 7, deptCode: "ENDO",
		dx:   []code{{"E11.9", "2型糖尿病"}},
		stay: [2]int{5, 10}, age: [2]int{30, 82}, maleP: 0.5,
		admitLabs: []labDay{{0, []panel{glucoseTest, electrolytes, bloodCount}}, {1, []panel{glucoseTest}}, {2, []panel{glucoseTest}}, {3, []panel{glucoseTest, electrolytes}}, {4, []panel{glucoseTest}}},
	},
	{
		key: HipFracture, weight: 5, deptCode: "ORTHO", urgent: true,
		dx:   []code{{"S72.0", "股骨颈骨折"}},
		stay: [2]int{8, 15}, age: [2]int{60, 95}, maleP: 0.3,
		ops: []operation{totalHipReplacement, partialHipReplacement}, opDay: [2]int{1, 3}, opShare: 0.9,
		admitLabs: []labDay{{0, []panel{bloodCount, electrolytes, glucoseTest, inrTest}}},
		postLabs:  []labDay{{1, []panel{bloodCount, electrolytes}}, {3, []panel{bloodCount}}},
		exams:     []examDay{{0, hipXR}, {0, chestXR}},
	},
	{
		key: LungCancer, weight: 5, deptCode: "ONCO",
		dx:   []code{{"C34.1", "上叶支气管或肺恶性肿瘤"}},
		stay: [2]int{4, 9}, age: [2]int{45, 82}, maleP: 0.65,
		admitLabs: []labDay{{0, []panel{bloodCount, electrolytes, glucoseTest, ceaTest}}, {3, []panel{bloodCount}}},
		exams:     []examDay{{0, chestCT}},
	},
}

// readmission is the unplanned readmission a few surgical patients have within 31 days.
var readmission = scenario{
	key:       "readmission",
	dx:        []code{{"T81.4", "手术后切口感染"}, {"K56.7", "肠梗阻"}},
	stay:      [2]int{3, 7},
	urgent:    true,
	admitLabs: []labDay{{0, []panel{bloodCount, electrolytes}}, {2, []panel{bloodCount}}},
}

// Chinese names. Surnames by rough frequency; given names drawn as one or two characters.
var (
	surnames    = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "萧", "田", "董", "潘", "袁", "蔡", "蒋", "余"}
	maleChars   = []string{"伟", "强", "磊", "军", "勇", "杰", "涛", "明", "超", "刚", "平", "辉", "鹏", "华", "飞", "鑫", "波", "斌", "宇", "浩", "建", "国", "志", "文", "海", "东", "庆", "福", "立", "春"}
	femaleChars = []string{"芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "秀", "英", "玉", "兰", "桂", "婷", "雪", "琳", "慧", "颖", "洁", "红", "梅", "玲", "萍", "燕", "凤", "琴", "云", "莉", "倩", "珍"}
)
