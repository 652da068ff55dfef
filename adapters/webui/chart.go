package webui

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Charts are SVG written here, on the server: no script, no library, readable when printed
// (black lines and text on white, values written out, not only drawn).

// point is one month of a trend; Value nil when there was nothing to count.
type point struct {
	Label string
	Value *float64
}

func fmtNum(v float64) string {
	if math.Abs(v-math.Round(v)) < 1e-9 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// trendSVG draws a monthly line with its points labelled, and the target as a dashed line.
func trendSVG(title string, pts []point, target *float64, unit string) string {
	const w, h, left, right, top, bottom = 560.0, 200.0, 44.0, 12.0, 16.0, 36.0
	hi := 0.0
	for _, p := range pts {
		if p.Value != nil {
			hi = math.Max(hi, *p.Value)
		}
	}
	if target != nil {
		hi = math.Max(hi, *target)
	}
	if unit == "%" && hi <= 100 {
		hi = 100
	}
	if hi == 0 {
		hi = 1
	}
	hi *= 1.1
	x := func(i int) float64 {
		if len(pts) < 2 {
			return left + (w-left-right)/2
		}
		return left + float64(i)*(w-left-right)/float64(len(pts)-1)
	}
	y := func(v float64) float64 { return top + (h-top-bottom)*(1-v/hi) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`, w, h, html.EscapeString(title))
	fmt.Fprintf(&b, `<title>%s</title>`, html.EscapeString(title))
	// axes
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#000" stroke-width="1"/>`, left, top, left, h-bottom)
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#000" stroke-width="1"/>`, left, h-bottom, w-right, h-bottom)
	for _, frac := range []float64{0, 0.5, 1} {
		v := hi / 1.1 * frac
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="end">%s</text>`, left-4, y(v)+3, fmtNum(v))
	}
	if target != nil {
		fmt.Fprintf(&b, `<line class="target" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#555" stroke-dasharray="6 4" stroke-width="1"/>`,
			left, y(*target), w-right, y(*target))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="end">%s %s%s</text>`, w-right, y(*target)-3, "目标/target", fmtNum(*target), html.EscapeString(unit))
	}
	var path []string
	for i, p := range pts {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle">%s</text>`, x(i), h-bottom+14, html.EscapeString(p.Label))
		if p.Value == nil {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle">–</text>`, x(i), h-bottom-4)
			continue
		}
		cmd := "L"
		if len(path) == 0 {
			cmd = "M"
		}
		path = append(path, fmt.Sprintf("%s%.1f %.1f", cmd, x(i), y(*p.Value)))
		fmt.Fprintf(&b, `<circle class="point" cx="%.1f" cy="%.1f" r="3" fill="#000"/>`, x(i), y(*p.Value))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle">%s</text>`, x(i), y(*p.Value)-6, fmtNum(*p.Value))
	}
	if len(path) > 1 {
		fmt.Fprintf(&b, `<path class="trend" d="%s" fill="none" stroke="#1f4e79" stroke-width="2"/>`, strings.Join(path, " "))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// barsSVG draws one horizontal bar per stratum (department), its value written beside it.
func barsSVG(title string, strata []Stratum, target *float64, unit string) string {
	const w, left, right, row = 560.0, 150.0, 60.0, 22.0
	h := row*float64(len(strata)) + 20
	hi := 0.0
	for _, s := range strata {
		if s.Value != nil {
			hi = math.Max(hi, *s.Value)
		}
	}
	if target != nil {
		hi = math.Max(hi, *target)
	}
	if unit == "%" && hi <= 100 {
		hi = 100
	}
	if hi == 0 {
		hi = 1
	}
	scale := (w - left - right) / hi
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`, w, h, html.EscapeString(title))
	fmt.Fprintf(&b, `<title>%s</title>`, html.EscapeString(title))
	for i, s := range strata {
		yy := 10 + float64(i)*row
		label := s.Label
		if label == "" {
			label = s.Key
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="end">%s</text>`, left-6, yy+13, html.EscapeString(label))
		if s.Value == nil {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11">–</text>`, left+2, yy+13)
			continue
		}
		fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#1f4e79" stroke="#000" stroke-width="0.5"/>`,
			left, yy+3, math.Max(1, *s.Value*scale), row-8)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11">%s%s (%s/%s)</text>`, left+math.Max(1, *s.Value*scale)+4, yy+13,
			fmtNum(*s.Value), html.EscapeString(unit), fmtNum(s.Numerator), fmtNum(s.Denominator))
	}
	if target != nil {
		fmt.Fprintf(&b, `<line class="target" x1="%.1f" y1="4" x2="%.1f" y2="%.1f" stroke="#555" stroke-dasharray="6 4"/>`,
			left+*target*scale, left+*target*scale, h-4)
	}
	b.WriteString(`</svg>`)
	return b.String()
}
