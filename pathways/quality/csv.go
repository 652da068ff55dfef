package quality

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"
)

// CSV headers, English and Chinese (lang=zh).
var (
	csvHeader   = []string{"indicator", "title", "hospital", "department", "setting", "from", "to", "numerator", "denominator", "excluded", "value", "unit", "target", "met", "status", "missing"}
	csvHeaderZh = []string{"指标编码", "指标名称", "医院", "科室", "诊疗场景", "开始日期", "结束日期", "分子", "分母", "排除", "指标值", "单位", "目标值", "是否达标", "状态", "缺少的数据"}
)

// WriteCSV writes results as CSV that Excel and WPS open correctly: UTF-8 with a byte-order
// mark, CRLF line ends. Each result is a row for the whole (department and setting empty),
// then a row per stratum, then a row per hospital of an aggregate. zh gives Chinese headers
// and titles. Dates are those of the period in zone ("to" is the last day included).
func WriteCSV(w io.Writer, results []Result, zh bool, zone *time.Location) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	header := csvHeader
	if zh {
		header = csvHeaderZh
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, r := range results {
		title := r.Title.En
		if zh {
			title = r.Title.Zh
		}
		from, to := day(r.Period.From, zone, false), day(r.Period.To, zone, true)
		target := ""
		if r.Target != nil {
			target = r.Target.String()
		}
		missing := ""
		if r.Missing != nil {
			missing = r.Missing.En
			if zh {
				missing = r.Missing.Zh
			}
		}
		row := func(hospital, dept, setting string, num, den, excl int64, v *float64, m *bool, status string) error {
			return cw.Write([]string{r.ID, title, hospital, dept, setting, from, to, itoa(num), itoa(den), itoa(excl), num2(v), r.Unit, target, yesNo(m, zh), status, missing})
		}
		if err := row(r.Hospital, r.Department, r.Setting, r.Numerator, r.Denominator, r.Excluded, r.Value, r.Met, r.Status); err != nil {
			return err
		}
		for _, s := range r.Strata {
			if err := row(r.Hospital, s.Department, s.Setting, s.Numerator, s.Denominator, s.Excluded, s.Value, s.Met, r.Status); err != nil {
				return err
			}
		}
		for _, h := range r.Hospitals {
			if err := row(h.Hospital, "", "", h.Numerator, h.Denominator, h.Excluded, h.Value, h.Met, h.Status); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func num2(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

func yesNo(b *bool, zh bool) string {
	switch {
	case b == nil:
		return ""
	case *b && zh:
		return "是"
	case zh:
		return "否"
	}
	return fmt.Sprint(*b)
}

// day is a period bound as a date in zone; the end of a whole-day period is its last day.
func day(t time.Time, zone *time.Location, end bool) string {
	if zone == nil {
		zone = time.UTC
	}
	l := t.In(zone)
	if end && l.Hour() == 0 && l.Minute() == 0 && l.Second() == 0 && l.Nanosecond() == 0 {
		l = l.AddDate(0, 0, -1)
	}
	return l.Format(time.DateOnly)
}
