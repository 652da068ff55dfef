package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/lujing-health/lujing/adapters/httpapi"
	"github.com/lujing-health/lujing/pathways/quality"
)

const reportUsage = `lujing report --from DATE --to DATE --hospital [NAME=]URL[#TOKEN]… [flags]

Pulls GET /api/v1/quality/report of the period from each Lujing instance (one per hospital,
or several hospitals each) and adds them up into one provincial table: numerators,
denominators and exclusions are summed and every rate computed again from the sums, never
averaged. A median (cv-median-ack-minutes) cannot be added up from medians: it is left empty
in the total and given per hospital. A hospital whose indicator is "insufficient data" is left
out of that indicator's sums and named in its note.

Each --hospital is the instance's base URL; its QC token follows a '#' (or comes from --token /
LUJING_TOKEN for all); NAME= labels its rows (default: the hospital the instance reports, else
the URL's host). From and to are dates in the hospitals' zone, to inclusive.
`

// cmdReport is lujing report: the provincial table of several instances' QC reports.
func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var from, to, token, format, lang, out, zoneName string
	var timeout time.Duration
	var hospitals multiFlag
	fs := newFlags("report", reportUsage, stderr)
	fs.StringVar(&from, "from", "", "first day of the period (2026-01-01)")
	fs.StringVar(&to, "to", "", "last day of the period, inclusive (2026-03-31)")
	fs.Var(&hospitals, "hospital", "[NAME=]URL[#TOKEN] of a Lujing instance (repeatable)")
	fs.StringVar(&token, "token", envOr("LUJING_TOKEN", ""), "QC token for instances whose URL carries none (env LUJING_TOKEN)")
	fs.StringVar(&format, "format", "csv", "csv or json")
	fs.StringVar(&lang, "lang", "zh", "CSV headers and titles: zh or en")
	fs.StringVar(&out, "out", "", "write to this file instead of standard output")
	fs.StringVar(&zoneName, "zone", "Asia/Shanghai", "the zone the period's dates are in (CSV dates)")
	fs.DurationVar(&timeout, "timeout", time.Minute, "per instance")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case from == "" || to == "":
		fmt.Fprintln(stderr, "lujing report: --from and --to are required")
		return errUsage
	case len(hospitals) == 0:
		fmt.Fprintln(stderr, "lujing report: name at least one --hospital URL")
		return errUsage
	case format != "csv" && format != "json":
		fmt.Fprintf(stderr, "lujing report: --format %q: want csv or json\n", format)
		return errUsage
	}
	zone, err := time.LoadLocation(zoneName)
	if err != nil {
		return fmt.Errorf("--zone %q: %w", zoneName, err)
	}
	var sources []quality.Source
	var period quality.Period
	var labels []string
	for i, h := range hospitals {
		src, err := parseHospital(h, token)
		if err != nil {
			return fmt.Errorf("--hospital %s: %w", redact(h), err)
		}
		rep, err := fetchReport(ctx, src, from, to, timeout)
		if err != nil {
			return fmt.Errorf("%s: %w", src.base, err)
		}
		if i == 0 {
			period = rep.Period
		} else if !rep.Period.From.Equal(period.From) || !rep.Period.To.Equal(period.To) {
			return fmt.Errorf("%s reports %s–%s, not the period of the others (%s–%s): are the instances in different zones?",
				src.base, rep.Period.From, rep.Period.To, period.From, period.To)
		}
		name := src.name
		if name == "" && len(rep.Hospitals) == 1 && rep.Hospitals[0] != "" {
			name = rep.Hospitals[0]
		}
		if name == "" {
			name = src.host
		}
		labels = append(labels, name)
		sources = append(sources, quality.Source{Name: name, Results: rep.Indicators})
	}
	table := quality.Aggregate(sources)
	var buf bytes.Buffer
	if format == "json" {
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(map[string]any{"period": period, "hospitals": labels, "indicators": table}); err != nil {
			return err
		}
	} else if err := quality.WriteCSV(&buf, table, lang == "zh", zone); err != nil {
		return err
	}
	if out == "" {
		_, err := stdout.Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d indicators of %d hospitals written to %s\n", len(table), len(sources), out)
	return nil
}

type reportSource struct {
	name, base, host, token string
}

// parseHospital reads [NAME=]URL[#TOKEN].
func parseHospital(s, defaultToken string) (reportSource, error) {
	var src reportSource
	if name, rest, ok := strings.Cut(s, "="); ok && !strings.Contains(name, "://") {
		src.name, s = name, rest
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return src, errors.New("want an http(s) URL, e.g. https://lujing.h1.example#TOKEN")
	}
	src.token = u.Fragment
	if src.token == "" {
		src.token = defaultToken
	}
	if src.token == "" {
		return src, errors.New("no token: give URL#TOKEN, --token or LUJING_TOKEN")
	}
	u.Fragment, u.RawFragment = "", ""
	src.base, src.host = strings.TrimSuffix(u.String(), "/"), u.Host
	return src, nil
}

// redact hides a token in a --hospital value for error messages.
func redact(s string) string {
	if i := strings.Index(s, "#"); i >= 0 {
		return s[:i] + "#…"
	}
	return s
}

func fetchReport(ctx context.Context, src reportSource, from, to string, timeout time.Duration) (httpapi.Report, error) {
	var rep httpapi.Report
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	q := url.Values{"from": {from}, "to": {to}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src.base+"/api/v1/quality/report?"+q.Encode(), nil)
	if err != nil {
		return rep, err
	}
	req.Header.Set("Authorization", "Bearer "+src.token)
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return rep, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return rep, err
	}
	if res.StatusCode != http.StatusOK {
		return rep, fmt.Errorf("GET /api/v1/quality/report: %s: %s", res.Status, bytes.TrimSpace(body))
	}
	if err := json.Unmarshal(body, &rep); err != nil {
		return rep, fmt.Errorf("the report is not Lujing's JSON: %w", err)
	}
	return rep, nil
}
