package grafana_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/grafana"
)

// TestCommittedDashboardsAreFresh fails when grafana/dashboards differs
// from what the Go code generates: run `make grafana` and commit.
func TestCommittedDashboardsAreFresh(t *testing.T) {
	want, err := grafana.Generate()
	require.NoError(t, err)
	committed, err := filepath.Glob(filepath.Join("dashboards", "*.json"))
	require.NoError(t, err)
	var names []string
	for _, p := range committed {
		names = append(names, filepath.Base(p))
	}
	require.ElementsMatch(t, keys(want), names, "dashboards/ holds exactly the generated files; run `make grafana`")
	for name, b := range want {
		got, err := os.ReadFile(filepath.Join("dashboards", name))
		require.NoError(t, err)
		require.Equal(t, string(b), string(got), "dashboards/%s is stale; run `make grafana`", name)
	}
}

// TestGenerateIsDeterministic guards the staleness test against map order
// or anything else that would make two runs differ.
func TestGenerateIsDeterministic(t *testing.T) {
	a, err := grafana.Generate()
	require.NoError(t, err)
	b, err := grafana.Generate()
	require.NoError(t, err)
	require.Equal(t, a, b)
}

// TestWriteReplacesDirectory checks what `make grafana` does to the output
// directory: every dashboard written, stray JSON removed.
func TestWriteReplacesDirectory(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "old.json"), []byte("{}"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("keep"), 0o644))
	names, err := grafana.Write(dir)
	require.NoError(t, err)
	require.Equal(t, []string{"delivery.json", "overview.json", "tenant.json"}, names)
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	var got []string
	for _, e := range left {
		got = append(got, e.Name())
	}
	require.ElementsMatch(t, []string{"delivery.json", "overview.json", "tenant.json", "notes.txt"}, got)
}

// TestDashboardsRoundTripThroughSDK is the stand-in for a screenshot: the
// committed JSON must unmarshal strictly (unknown fields are errors) into
// the foundation SDK's types, panels and queries included, and marshal
// back to the same document.
func TestDashboardsRoundTripThroughSDK(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	for name, raw := range committedDashboards(t) {
		t.Run(name, func(t *testing.T) {
			// Strictly: unknown or mistyped fields anywhere are errors.
			var strict dashboard.Dashboard
			require.NoError(t, normalise(strict.UnmarshalJSONStrict(raw)))
			var doc struct{ Panels []json.RawMessage }
			require.NoError(t, json.Unmarshal(raw, &doc))
			for i, p := range doc.Panels {
				// v0.0.18's strict Dashboard drops panels whose strict
				// decoding succeeded (it mistakes a nil BuildErrors for an
				// error), so decode each panel strictly on its own too.
				var kind struct{ Type string }
				require.NoError(t, json.Unmarshal(p, &kind))
				if kind.Type == "row" {
					var row dashboard.RowPanel
					require.NoError(t, normalise(row.UnmarshalJSONStrict(p)), "panel %d", i)
					continue
				}
				var panel dashboard.Panel
				require.NoError(t, normalise(panel.UnmarshalJSONStrict(p)), "panel %d", i)
			}
			// And back: decoding then encoding gives the same document.
			var d dashboard.Dashboard
			require.NoError(t, json.Unmarshal(raw, &d))
			again, err := grafana.Render(d)
			require.NoError(t, err)
			require.JSONEq(t, string(raw), string(again))
			require.NotNil(t, d.Uid)
			require.Len(t, d.Panels, len(doc.Panels))
			for i, p := range d.Panels {
				if p.RowPanel != nil {
					continue
				}
				require.NotNil(t, p.Panel, "panel %d decoded", i)
				// Options and queries decode into the plugins' own types,
				// not into maps: the SDK knows every field we emit.
				switch p.Panel.Type {
				case "stat":
					require.IsType(t, &stat.Options{}, p.Panel.Options, "panel %d", i)
				case "timeseries":
					require.IsType(t, &timeseries.Options{}, p.Panel.Options, "panel %d", i)
				default:
					t.Fatalf("panel %d: unexpected type %s", i, p.Panel.Type)
				}
				require.Len(t, p.Panel.Targets, len(targetsOf(t, doc.Panels[i])))
				for _, q := range p.Panel.Targets {
					require.IsType(t, &prometheus.Dataquery{}, q, "panel %d", i)
				}
			}
			require.Contains(t, *d.Description, "make grafana", "the description says the JSON is generated")
			for _, p := range d.Panels {
				if p.Panel == nil {
					continue
				}
				require.NotEmpty(t, p.Panel.Targets, "panel %q has queries", deref(p.Panel.Title))
			}
		})
	}
}

// TestDashboardsShape checks what Grafana needs but the SDK types do not
// enforce: unique uids and panel ids, a refId and an expression on every
// query, panels on the 24-column grid, and only variables that exist.
func TestDashboardsShape(t *testing.T) {
	uids := map[string]string{}
	for name, raw := range committedDashboards(t) {
		var doc map[string]any
		require.NoError(t, json.Unmarshal(raw, &doc))
		uid := doc["uid"].(string)
		require.Empty(t, uids[uid], "uid %s used twice", uid)
		uids[uid] = name

		vars := map[string]bool{"datasource": true}
		for _, v := range dashboardVariables(doc) {
			vars[v.Name] = true
		}
		ids := map[float64]bool{}
		for _, p := range doc["panels"].([]any) {
			panel := p.(map[string]any)
			id := panel["id"].(float64)
			require.False(t, ids[id], "%s: panel id %v twice", name, id)
			ids[id] = true
			grid := panel["gridPos"].(map[string]any)
			require.LessOrEqual(t, grid["x"].(float64)+grid["w"].(float64), 24.0, "%s: %q off the grid", name, panel["title"])
			refs := map[string]bool{}
			for _, q := range targets(panel) {
				ref, _ := q["refId"].(string)
				require.NotEmpty(t, ref, "%s: %q has a query without refId", name, panel["title"])
				require.False(t, refs[ref], "%s: %q repeats refId %s", name, panel["title"], ref)
				refs[ref] = true
				require.NotEmpty(t, q["expr"], "%s: %q has a query without expr", name, panel["title"])
			}
		}
		for _, e := range dashboardExprs(doc) {
			for _, m := range varRef.FindAllStringSubmatch(e.Expr, -1) {
				require.True(t, vars[m[1]] || strings.HasPrefix(m[1], "__"), "%s: %q uses undefined $%s", name, e.Panel, m[1])
			}
		}
	}
	require.Len(t, uids, 3)
}

// normalise fixes the result of the SDK's UnmarshalJSONStrict methods:
// v0.0.18 returns a nil cog.BuildErrors in a non-nil error interface when
// all is well.
func normalise(err error) error {
	var errs cog.BuildErrors
	if errors.As(err, &errs) && len(errs) == 0 {
		return nil
	}
	return err
}

var varRef = regexp.MustCompile(`\$\{?(\w+)`)

// committedDashboards reads grafana/dashboards/*.json.
func committedDashboards(t *testing.T) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("dashboards", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		out[filepath.Base(p)] = b
	}
	return out
}

// panelExpr is one PromQL expression of a dashboard and where it is.
type panelExpr struct {
	Dashboard, Panel, RefID, Expr string
}

// variable is a query variable of a dashboard.
type variable struct {
	Name, Query, AllValue string
	IncludeAll            bool
}

// dashboardExprs lists every query expression of every panel, from the
// JSON Grafana reads (so nothing the Go code builds can escape the test).
func dashboardExprs(doc map[string]any) []panelExpr {
	var out []panelExpr
	for _, p := range doc["panels"].([]any) {
		panel := p.(map[string]any)
		for _, q := range targets(panel) {
			expr, _ := q["expr"].(string)
			ref, _ := q["refId"].(string)
			title, _ := panel["title"].(string)
			out = append(out, panelExpr{Dashboard: doc["uid"].(string), Panel: title, RefID: ref, Expr: expr})
		}
	}
	return out
}

func targets(panel map[string]any) []map[string]any {
	ts, _ := panel["targets"].([]any)
	out := make([]map[string]any, 0, len(ts))
	for _, t := range ts {
		out = append(out, t.(map[string]any))
	}
	return out
}

// dashboardVariables lists the query variables, in dashboard order (a
// variable may refer to the ones before it).
func dashboardVariables(doc map[string]any) []variable {
	var out []variable
	templating, _ := doc["templating"].(map[string]any)
	list, _ := templating["list"].([]any)
	for _, v := range list {
		m := v.(map[string]any)
		if m["type"] != "query" {
			continue
		}
		all, _ := m["allValue"].(string)
		inc, _ := m["includeAll"].(bool)
		out = append(out, variable{Name: m["name"].(string), Query: m["query"].(string), AllValue: all, IncludeAll: inc})
	}
	return out
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func targetsOf(t *testing.T, panel json.RawMessage) []json.RawMessage {
	var p struct{ Targets []json.RawMessage }
	require.NoError(t, json.Unmarshal(panel, &p))
	return p.Targets
}
