package clinicalpath

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
)

//go:embed library/*.yaml
var library embed.FS

// Library returns the pathways shipped with Lujing, localized from the national forms:
// colon cancer radical resection, acute ST-elevation myocardial infarction and acute simple
// appendicitis. They are examples a hospital copies and edits (its own codes, windows and
// items); a file that does not parse is a build defect, so Library panics on one (a test
// parses them all).
func Library() []*Definition {
	defs, err := Load(library)
	if err != nil {
		panic(fmt.Sprintf("clinicalpath: shipped library: %v", err))
	}
	return defs
}

// Load parses every *.yaml file of fsys (recursively), in path order. Its error lists every
// problem of every file.
func Load(fsys fs.FS) ([]*Definition, error) {
	var names []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (path.Ext(p) == ".yaml" || path.Ext(p) == ".yml") {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("clinicalpath: reading definitions: %w", err)
	}
	slices.Sort(names)
	var defs []*Definition
	var errs []error
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("clinicalpath: %w", err)
		}
		d, es := Parse(n, data)
		errs = append(errs, es...)
		if d != nil {
			defs = append(defs, d)
		}
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return defs, nil
}
