package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/lujing-health/lujing/adapters/intake"
	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/adapters/synth"
)

// demoTokens are created once per data directory and kept in demo-tokens.json (mode 0600), so
// that a restarted demo keeps working with the tokens a newcomer already copied.
var demoTokens = []store.Token{
	{Name: "demo-admin", Role: store.RoleAdmin},
	{Name: "demo-clinician", Role: store.RoleClinician},
	{Name: "demo-qc", Role: store.RoleQC},
	{Name: "demo-his", Role: store.RoleIntegration, Source: "his"},
	{Name: "demo-lis", Role: store.RoleIntegration, Source: "lis"},
	{Name: "demo-pacs", Role: store.RoleIntegration, Source: "pacs"},
}

type tokenStore interface {
	CreateToken(context.Context, store.Token) error
	Tokens(context.Context) ([]store.Token, error)
}

func runDemo(ctx context.Context, st tokenStore, in *intake.Service, dataDir, base string, stdout io.Writer) error {
	secrets, err := ensureDemoTokens(ctx, st, dataDir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nDemo tokens (also in %s):\n", filepath.Join(dataDir, "demo-tokens.json"))
	for _, t := range demoTokens {
		fmt.Fprintf(stdout, "  %-15s %-12s %s\n", t.Name, t.Role, secrets[t.Name])
	}
	fmt.Fprintf(stdout, "\nTry:\n  curl -s -H 'Authorization: Bearer %s' %s/api/v1/messages/counts\n", secrets["demo-admin"], base)
	fmt.Fprintf(stdout, "  curl -s -H 'Authorization: Bearer %s' %s/fhir/metadata | head -c 300\n\n", secrets["demo-clinician"], base)

	marker := filepath.Join(dataDir, "demo-loaded")
	if _, err := os.Stat(marker); err == nil {
		fmt.Fprintln(stdout, "Demo ward already loaded (delete", marker, "to load it again).")
		return nil
	}
	start := time.Now()
	n, err := loadDemoWard(ctx, in, time.Now())
	if err != nil {
		return fmt.Errorf("load demo ward: %w", err)
	}
	if err := os.WriteFile(marker, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", marker, err)
	}
	fmt.Fprintf(stdout, "Demo ward loaded through the FHIR intake: %d resources in %s.\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}

func ensureDemoTokens(ctx context.Context, st tokenStore, dataDir string) (map[string]string, error) {
	path := filepath.Join(dataDir, "demo-tokens.json")
	secrets := map[string]string{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &secrets); err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	existing, err := st.Tokens(ctx)
	if err != nil {
		return nil, err
	}
	active := map[string]bool{}
	for _, t := range existing {
		if t.RevokedAt.IsZero() {
			active[t.Name] = true
		}
	}
	changed := false
	for _, t := range demoTokens {
		if active[t.Name] && secrets[t.Name] != "" {
			continue
		}
		if active[t.Name] {
			return nil, fmt.Errorf("token %q exists but its secret is not in %s; revoke it with: lujing token revoke %s", t.Name, path, t.Name)
		}
		t.Hospital = "LUJING-DEMO"
		secret, err := createToken(ctx, st, t)
		if err != nil {
			return nil, err
		}
		secrets[t.Name] = secret
		changed = true
	}
	if changed {
		b, _ := json.MarshalIndent(secrets, "", "  ")
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
	}
	return secrets, nil
}

// loadDemoWard sends three weeks of a synthetic hospital, up to now, through the intake as
// each source system would: transactions of up to 100 resources, one source at a time.
func loadDemoWard(ctx context.Context, in *intake.Service, now time.Time) (int, error) {
	zone, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		zone = time.FixedZone("CST", 8*3600)
	}
	day := time.Date(now.In(zone).Year(), now.In(zone).Month(), now.In(zone).Day(), 8, 0, 0, 0, zone)
	g := synth.New(20261122, synth.Options{Start: day.AddDate(0, 0, -21), Zone: zone, AdmissionsPerDay: 3})
	var chunk []synth.Resource
	inChunk := map[string]bool{}
	sent := 0
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		_, res, err := in.Bundle(ctx, intake.Source{System: string(chunk[0].Source), Hospital: "LUJING-DEMO"}, synth.Transaction(chunk))
		if err != nil {
			return err
		}
		sent += len(res)
		chunk, inChunk = chunk[:0], map[string]bool{}
		return nil
	}
	for r := range g.Stream() {
		if r.Time.After(now) {
			break
		}
		if len(chunk) > 0 && (chunk[0].Source != r.Source || len(chunk) == 100 || inChunk[r.Ref()]) {
			if err := flush(); err != nil {
				return sent, err
			}
		}
		chunk = append(chunk, r)
		inChunk[r.Ref()] = true
	}
	return sent, flush()
}
