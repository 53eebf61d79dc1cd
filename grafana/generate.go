package grafana

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Builders maps each dashboard's file name under dashboards/ to the
// function that builds it.
func Builders() map[string]func() (dashboard.Dashboard, error) {
	return map[string]func() (dashboard.Dashboard, error){
		"overview.json": Overview,
		"tenant.json":   Tenant,
		"delivery.json": Delivery,
	}
}

// Render is the committed form of a dashboard: indented JSON ending in a
// newline, so that diffs of generated files stay readable.
func Render(d dashboard.Dashboard) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // PromQL has > and &; keep it legible
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Generate builds and renders every dashboard, keyed by file name.
func Generate() (map[string][]byte, error) {
	out := map[string][]byte{}
	for name, build := range Builders() {
		d, err := build()
		if err != nil {
			return nil, fmt.Errorf("grafana: build %s: %w", name, err)
		}
		number(&d)
		b, err := Render(d)
		if err != nil {
			return nil, fmt.Errorf("grafana: render %s: %w", name, err)
		}
		out[name] = b
	}
	return out, nil
}

// Write generates every dashboard into dir, replacing the files there, and
// removes .json files in dir that no dashboard produces any more. It
// returns the names written, sorted.
func Write(dir string) ([]string, error) {
	files, err := Generate()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	old, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	for _, p := range old {
		if _, ok := files[filepath.Base(p)]; !ok {
			if err := os.Remove(p); err != nil {
				return nil, err
			}
		}
	}
	names := make([]string, 0, len(files))
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

// number gives every panel and row a unique id in layout order: Grafana
// uses ids for links to a panel (viewPanel=ID) and for panel state, and the
// builders leave them unset (rows at 0).
func number(d *dashboard.Dashboard) {
	id := uint32(0)
	for i := range d.Panels {
		id++
		switch p := d.Panels[i]; {
		case p.Panel != nil:
			v := id
			p.Panel.Id = &v
		case p.RowPanel != nil:
			p.RowPanel.Id = id
		}
	}
}
