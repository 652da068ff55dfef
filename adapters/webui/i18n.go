package webui

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// The workspace speaks zh-CN by default and English on request (?lang=en, kept in a cookie).
const langCookie = "lujing_lang"

// language picks the request's language and remembers an explicit choice.
func (u *UI) language(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "en" || l == "zh" {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", SameSite: http.SameSiteLaxMode,
			Secure: u.secure(r), MaxAge: 365 * 24 * 3600})
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == "en" || c.Value == "zh") {
		return c.Value
	}
	return "zh"
}

// Text is a label in both languages. It decodes from {"zh":…,"en":…} or from a plain string
// (a title that was never translated).
type Text struct {
	Zh string `json:"zh"`
	En string `json:"en"`
}

func (t *Text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		t.Zh, t.En = s, s
		return nil
	}
	type plain Text
	return json.Unmarshal(b, (*plain)(t))
}

// In returns the text in lang, falling back to the other language.
func (t Text) In(lang string) string {
	if lang == "en" && t.En != "" {
		return t.En
	}
	if t.Zh != "" {
		return t.Zh
	}
	return t.En
}

// tr translates a message key. An unknown key shows as itself, so a missing translation is
// visible rather than blank.
func tr(lang, key string) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	if lang == "en" {
		return m[1]
	}
	return m[0]
}

// formatTime shows an instant in the hospital's zone.
func formatTime(t time.Time, zone *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(zone).Format("2006-01-02 15:04")
}

// status labels: a status is always shown as text with an icon, never by colour alone.
func statusLabel(lang, kind, status string) string {
	key := kind + "." + strings.ReplaceAll(status, "_", "-")
	if _, ok := messages[key]; ok {
		return tr(lang, key)
	}
	return status
}

var messages = map[string][2]string{
	"app.name":              {"路径 Lujing", "Lujing"},
	"nav.ward":              {"病区看板", "Ward board"},
	"nav.cv":                {"危急值", "Critical values"},
	"nav.followup":          {"随访", "Follow-up"},
	"nav.quality":           {"质控", "Quality"},
	"nav.console":           {"集成控制台", "Integration console"},
	"nav.logout":            {"退出登录", "Sign out"},
	"nav.lang":              {"English", "中文"},
	"nav.skip":              {"跳到正文", "Skip to content"},
	"nav.user":              {"当前用户", "Signed in as"},
	"role.clinician":        {"临床", "clinician"},
	"role.qc":               {"质控", "QC"},
	"role.admin":            {"管理员", "admin"},
	"role.integration":      {"接口", "integration"},
	"login.title":           {"登录", "Sign in"},
	"login.name":            {"用户名", "User name"},
	"login.password":        {"密码", "Password"},
	"login.submit":          {"登录", "Sign in"},
	"login.failed":          {"用户名或密码不正确，或账号已停用。", "Wrong user name or password, or the account is disabled."},
	"login.expired":         {"表单已过期，请重新登录。", "The form expired; please sign in again."},
	"login.sso":             {"使用单点登录", "Sign in with SSO"},
	"login.or":              {"或使用本系统账号和密码：", "or with a Lujing user name and password:"},
	"login.sso_expired":     {"单点登录请求已过期或无效，请重新点击“使用单点登录”。", "The single sign-on request expired or is not valid; please choose “Sign in with SSO” again."},
	"login.sso_failed":      {"单点登录未能确认您的身份，请重试或联系信息科。", "Single sign-on could not confirm who you are; try again or ask hospital IT."},
	"login.sso_unknown":     {"单点登录已确认您的身份，但本系统没有该用户名的账号或账号已停用。账号、角色和科室须由本系统管理员开通（lujing user create --sso）。", "Single sign-on confirmed who you are, but Lujing has no account of that user name, or it is disabled. An administrator must create it, with its role and departments (lujing user create --sso)."},
	"error.title":           {"出错了", "Something went wrong"},
	"error.notfound":        {"页面不存在。", "There is no such page."},
	"error.forbidden":       {"您的角色或科室无权查看此页面。", "Your role or departments may not see this page."},
	"error.internal":        {"服务器内部错误，请稍后重试。", "Internal error; please try again later."},
	"error.back":            {"返回首页", "Back to the start page"},
	"common.none":           {"暂无数据", "No data"},
	"common.all":            {"全部科室", "All departments"},
	"common.department":     {"科室", "Department"},
	"common.filter":         {"筛选", "Filter"},
	"common.patient":        {"患者", "Patient"},
	"common.bed":            {"床号", "Bed"},
	"common.mrn":            {"住院号", "MRN"},
	"common.status":         {"状态", "Status"},
	"common.time":           {"时间", "Time"},
	"common.actions":        {"操作", "Actions"},
	"common.submit":         {"提交", "Submit"},
	"common.reason":         {"原因", "Reason"},
	"common.by":             {"记录人", "By"},
	"common.yes":            {"是", "yes"},
	"common.no":             {"否", "no"},
	"common.names.show":     {"显示全名", "Show full names"},
	"common.names.hide":     {"隐藏姓名", "Mask names"},
	"common.masked":         {"姓名已脱敏", "names masked"},
	"common.zone":           {"时区", "Time zone"},
	"ward.title":            {"病区看板", "Ward board"},
	"ward.pathway":          {"路径", "Pathway"},
	"ward.day":              {"住院日", "Day"},
	"ward.dayof":            {"第 %d 天 / 标准 %d–%d 天", "day %d of %d–%d"},
	"ward.stage":            {"当前阶段", "Stage"},
	"ward.progress":         {"进度", "Progress"},
	"ward.overdue":          {"超时项目", "Overdue"},
	"ward.flags":            {"提示", "Flags"},
	"ward.variances":        {"变异 %d", "%d variances"},
	"ward.cv":               {"危急值 %d", "%d critical values"},
	"ward.fu":               {"随访待办", "follow-up due"},
	"ward.count":            {"在径患者 %d 人", "%d patients on pathways"},
	"ward.open":             {"查看路径", "Open pathway"},
	"pw.title":              {"路径详情", "Patient pathway"},
	"pw.enrolled":           {"入径时间", "Enrolled"},
	"pw.stay":               {"标准住院日", "Standard stay"},
	"pw.items":              {"诊疗项目", "Items"},
	"pw.required":           {"必选", "required"},
	"pw.evidence":           {"依据", "evidence"},
	"pw.due":                {"截止", "due"},
	"pw.done":               {"完成", "done"},
	"pw.variances":          {"变异记录", "Variances"},
	"pw.variance.add":       {"记录变异", "Record a variance"},
	"pw.variance.kind":      {"类型", "Kind"},
	"pw.source":             {"变异来源", "Source"},
	"pw.direction":          {"方向", "Direction"},
	"pw.controllable":       {"可控", "Controllable"},
	"pw.withdraw":           {"退出路径", "Withdraw from the pathway"},
	"pw.withdrawn":          {"已于 %s 退出路径：%s", "Withdrawn %s: %s"},
	"pw.source.patient":     {"患者因素", "patient"},
	"pw.source.clinician":   {"医护因素", "clinician"},
	"pw.source.hospital":    {"医院系统因素", "hospital"},
	"pw.source.external":    {"外部因素", "external"},
	"pw.direction.negative": {"负变异", "negative"},
	"pw.direction.positive": {"正变异", "positive"},
	"item.done":             {"✓ 已完成", "✓ done"},
	"item.pending":          {"○ 待完成", "○ pending"},
	"item.overdue":          {"⚠ 已超时", "⚠ overdue"},
	"item.waived":           {"– 免做", "– waived"},
	"instance.active":       {"● 进行中", "● active"},
	"instance.completed":    {"✓ 已完成", "✓ completed"},
	"instance.withdrawn":    {"✕ 已退出", "✕ withdrawn"},
	"cv.title":              {"危急值", "Critical values"},
	"cv.live":               {"实时更新中", "Live"},
	"cv.offline":            {"连接中断，正在重连…", "Connection lost, reconnecting…"},
	"cv.sound":              {"声音提醒", "Sound alert"},
	"cv.new":                {"新危急值！", "New critical value!"},
	"cv.item":               {"项目", "Test"},
	"cv.value":              {"结果", "Result"},
	"cv.detected":           {"发现时间", "Detected"},
	"cv.level":              {"升级级别", "Escalation level"},
	"cv.ack":                {"确认接收", "Acknowledge"},
	"cv.receiver":           {"接收人", "Receiver"},
	"cv.readback":           {"复述结果", "Read-back"},
	"cv.readback.hint":      {"请复述数值与单位", "Repeat the value and unit"},
	"cv.handle":             {"处置", "Handle"},
	"cv.physician":          {"处置医师", "Physician"},
	"cv.action":             {"处置措施", "Action taken"},
	"cv.events":             {"事件记录", "Event chain"},
	"cv.empty":              {"当前没有待处理的危急值。", "No open critical values."},
	"critical.detected":     {"◇ 已发现", "◇ detected"},
	"critical.notified":     {"◆ 已通知", "◆ notified"},
	"critical.acknowledged": {"✓ 已接收", "✓ acknowledged"},
	"critical.handled":      {"✓✓ 已处置", "✓✓ handled"},
	"critical.closed":       {"■ 已关闭", "■ closed"},
	"critical.recalled":     {"↩ 已撤回", "↩ recalled"},
	"critical.unreachable":  {"⚠ 无法联系", "⚠ unreachable"},
	"fu.title":              {"随访工作单", "Follow-up worklist"},
	"fu.overdue":            {"已逾期", "Overdue"},
	"fu.today":              {"今日待随访（已进入随访窗口）", "Due now (window open)"},
	"fu.upcoming":           {"即将到期", "Upcoming"},
	"fu.due":                {"应随访日", "Due on"},
	"fu.window":             {"随访窗口", "Window"},
	"fu.method":             {"方式", "Method"},
	"fu.reasons":            {"随访原因", "Reasons"},
	"fu.attempts":           {"尝试次数", "Attempts"},
	"fu.record":             {"记录随访", "Record a contact"},
	"fu.reached":            {"已联系上", "Reached"},
	"fu.outcome":            {"结局", "Outcome"},
	"fu.alive":              {"存活", "alive"},
	"fu.died":               {"死亡", "died"},
	"fu.diedon":             {"死亡日期", "Died on"},
	"fu.note":               {"备注", "Note"},
	"fu.method.phone":       {"电话", "phone"},
	"fu.method.clinic":      {"门诊", "clinic"},
	"fu.method.online":      {"线上", "online"},
	"followup.scheduled":    {"○ 已计划", "○ scheduled"},
	"followup.due":          {"● 到期", "● due"},
	"followup.overdue":      {"⚠ 逾期", "⚠ overdue"},
	"followup.done":         {"✓ 已完成", "✓ done"},
	"followup.missed":       {"✕ 失访", "✕ missed"},
	"followup.cancelled":    {"– 已取消", "– cancelled"},
	"qc.title":              {"质控指标", "Quality indicators"},
	"qc.from":               {"开始", "From"},
	"qc.to":                 {"结束", "To"},
	"qc.csv":                {"导出 CSV", "Export CSV"},
	"qc.indicator":          {"指标", "Indicator"},
	"qc.value":              {"结果", "Value"},
	"qc.target":             {"目标", "Target"},
	"qc.met":                {"✓ 达标", "✓ met"},
	"qc.notmet":             {"✕ 未达标", "✕ not met"},
	"qc.nodata":             {"– 无数据", "– no data"},
	"qc.trend":              {"月度趋势", "Monthly trend"},
	"qc.breakdown":          {"科室分布", "By department"},
	"qc.fraction":           {"分子/分母", "Numerator/denominator"},
	"console.title":         {"集成控制台", "Integration console"},
	"console.counts":        {"消息统计（来源 × 状态）", "Messages by source and status"},
	"console.source":        {"来源", "Source"},
	"console.failed":        {"失败消息", "Failed messages"},
	"console.error":         {"错误", "Error"},
	"console.replay":        {"重新处理", "Replay"},
	"console.replayall":     {"全部重新处理", "Replay all failed"},
	"console.tokens":        {"访问令牌", "Access tokens"},
	"console.users":         {"用户账号", "User accounts"},
	"console.name":          {"名称", "Name"},
	"console.role":          {"角色", "Role"},
	"console.departments":   {"科室", "Departments"},
	"console.created":       {"创建时间", "Created"},
	"console.state":         {"状态", "State"},
	"console.active":        {"✓ 有效", "✓ active"},
	"console.revoked":       {"✕ 已吊销", "✕ revoked"},
	"console.disabled":      {"✕ 已停用", "✕ disabled"},
	"console.upload":        {"上传配置", "Upload configuration"},
	"console.kind":          {"类型", "Kind"},
	"console.codemap":       {"代码映射", "Code map"},
	"console.pathwaydef":    {"路径定义", "Pathway definition"},
	"console.docid":         {"标识", "Id"},
	"console.file":          {"文件（YAML）", "File (YAML)"},
	"console.documents":     {"已加载的配置", "Loaded configuration"},
	"console.version":       {"版本", "Version"},
	"console.updated":       {"更新", "Updated"},
	"console.hospitalwide":  {"（全院）", "(hospital-wide)"},
	"msg.received":          {"待处理", "received"},
	"msg.processed":         {"已处理", "processed"},
	"msg.failed":            {"失败", "failed"},
	"msg.parked":            {"等待依赖", "parked"},
	"js.saved":              {"已保存", "Saved"},
	"js.failed":             {"操作失败", "Failed"},
}
