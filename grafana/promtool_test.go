package grafana_test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// TestPromtoolChecksShippedFiles runs promtool on the shipped scrape
// config (which loads the rules), on the rules alone, and the rules' unit
// tests (prometheus/alerts_test.yml: each alert fires, with the shipped
// windows and for: durations, on synthetic series, and not before).
func TestPromtoolChecksShippedFiles(t *testing.T) {
	needBinary(t, promtoolBin)
	for _, args := range [][]string{
		{"check", "config", shippedScrape},
		{"check", "rules", shippedRules},
		{"test", "rules", "prometheus/alerts_test.yml"},
	} {
		out, err := exec.Command(promtoolBin, args...).CombinedOutput()
		require.NoError(t, err, "promtool %v:\n%s", args, out)
		t.Logf("promtool %v:\n%s", args, out)
	}
}

// TestAlertRulesAreDocumented: every rule says how bad it is, what it
// means and what to do (runbook), and the set is the one the issue asks
// for.
func TestAlertRulesAreDocumented(t *testing.T) {
	raw, err := os.ReadFile(shippedRules)
	require.NoError(t, err)
	var doc struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	var names []string
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			names = append(names, r.Alert)
			require.Contains(t, []string{"critical", "warning"}, r.Labels["severity"], r.Alert)
			for _, a := range []string{"summary", "description", "runbook"} {
				require.NotEmpty(t, r.Annotations[a], "%s has no %s", r.Alert, a)
			}
		}
	}
	require.ElementsMatch(t, []string{
		"MQLiveBridgeDown", "MQLiveBrokerDisconnected", "MQLiveIngestStopped",
		"MQLiveRejectionRatioHigh", "MQLiveE2ELatencyHigh", "MQLiveSlowConsumerDisconnects",
	}, names)
}
