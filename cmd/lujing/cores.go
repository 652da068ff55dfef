package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"encoding/json"

	"github.com/lujing-health/lujing/adapters/clinical"
	"github.com/lujing-health/lujing/adapters/httpapi"
	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/pathways"
	"github.com/lujing-health/lujing/pathways/clinicalpath"
	"github.com/lujing-health/lujing/pathways/criticalvalue"
	"github.com/lujing-health/lujing/pathways/followup"
)

// notifiers tells every listener that stream events were stored.
type notifiers []interface{ Published(int64) }

func (n notifiers) Published(last int64) {
	for _, x := range n {
		x.Published(last)
	}
}

// Configuration files of the clinical cores in --config-dir; each absent file means the
// embedded default (the figures of the domain reference).
const (
	criticalValuesFile = "critical-values.yaml"
	followUpFile       = "follow-up.yaml"
	pathwaysDir        = "pathways" // *.yaml, beside the shipped library
)

// cores are the clinical engines of one process.
type cores struct {
	cv    *criticalvalue.Engine
	fu    *followup.Engine
	paths *livePathways
}

// loadCores reads the cores' configuration: files in dir (may be empty) over the defaults,
// and the pathway definitions uploaded to the store.
func loadCores(ctx context.Context, st store.Store, dir string, zone *time.Location, log *slog.Logger) (*cores, error) {
	read := func(name string) ([]byte, bool, error) {
		if dir == "" {
			return nil, false, nil
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, nil
		}
		return b, err == nil, err
	}
	c := &cores{}
	data, ok, err := read(criticalValuesFile)
	if err != nil {
		return nil, err
	}
	var cvCfg *criticalvalue.Config
	if ok {
		if cvCfg, err = criticalvalue.Parse(filepath.Join(dir, criticalValuesFile), data); err != nil {
			return nil, err
		}
	}
	if c.cv, err = criticalvalue.New(cvCfg); err != nil {
		return nil, err
	}
	data, ok, err = read(followUpFile)
	if err != nil {
		return nil, err
	}
	var fuCfg *followup.Config
	if ok {
		if fuCfg, err = followup.Parse(filepath.Join(dir, followUpFile), data); err != nil {
			return nil, err
		}
	}
	c.fu = followup.New(fuCfg)
	c.paths = &livePathways{st: st, zone: zone, log: log}
	if dir != "" {
		c.paths.dir = filepath.Join(dir, pathwaysDir)
	}
	if err := c.paths.Reload(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// named lists the cores for the runner, in the order they run.
func (c *cores) named() []clinical.Named {
	return []clinical.Named{
		{Name: httpapi.CoreCriticalValue, Core: c.cv, Urgent: criticalvalue.Triggers},
		{Name: httpapi.CoreClinicalPath, Core: c.paths},
		{Name: httpapi.CoreFollowUp, Core: c.fu},
	}
}

// livePathways is the pathway engine, rebuilt when a definition is uploaded: the shipped
// library, the files of the config directory, and the store's documents.
type livePathways struct {
	st   store.Store
	dir  string
	zone *time.Location
	log  *slog.Logger

	mu  sync.RWMutex
	eng *clinicalpath.Engine
}

func (l *livePathways) Engine() *clinicalpath.Engine {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.eng
}

func (l *livePathways) Apply(state json.RawMessage, in pathways.Input) (pathways.Outcome, error) {
	return l.Engine().Apply(state, in)
}

// Reload rebuilds the engine. A definition given twice (the same id and version in the
// library, a file and the store) is taken once, from the first place, with a warning.
func (l *livePathways) Reload(ctx context.Context) error {
	defs := clinicalpath.Library()
	if l.dir != "" {
		if _, err := os.Stat(l.dir); err == nil {
			own, err := clinicalpath.Load(os.DirFS(l.dir))
			if err != nil {
				return fmt.Errorf("pathway definitions in %s: %w", l.dir, err)
			}
			defs = append(defs, own...)
		}
	}
	docs, err := l.st.Documents(ctx, httpapi.KindPathway)
	if err != nil {
		return fmt.Errorf("stored pathway definitions: %w", err)
	}
	for _, d := range docs {
		def, err := clinicalpath.ParseOne(d.ID+".yaml", d.Body)
		if err != nil {
			// It validated when uploaded; a definition that no longer parses is reported, not fatal.
			l.log.Error("stored pathway definition does not parse", "id", d.ID, "err", err)
			continue
		}
		defs = append(defs, def)
	}
	seen := map[string]bool{}
	uniq := defs[:0]
	for _, d := range defs {
		k := d.ID + "@" + d.Version
		if seen[k] {
			l.log.Warn("pathway definition given twice; the first is used", "pathway", k)
			continue
		}
		seen[k] = true
		uniq = append(uniq, d)
	}
	eng, err := clinicalpath.New(uniq, clinicalpath.Config{Zone: l.zone})
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.eng = eng
	l.mu.Unlock()
	return nil
}
