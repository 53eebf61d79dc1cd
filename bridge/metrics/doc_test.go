package metrics

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// capture is a Registerer that keeps the collectors registered with it.
type capture struct{ cs []prometheus.Collector }

func (c *capture) Register(col prometheus.Collector) error   { c.cs = append(c.cs, col); return nil }
func (c *capture) MustRegister(cols ...prometheus.Collector) { c.cs = append(c.cs, cols...) }
func (c *capture) Unregister(prometheus.Collector) bool      { return false }

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

// TestEveryMetricIsDocumented keeps the README's metric table complete:
// an operator should never meet a metric the docs do not explain.
func TestEveryMetricIsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	var c capture
	New(&c)
	descs := make(chan *prometheus.Desc, 1024)
	for _, col := range c.cs {
		col.Describe(descs)
	}
	close(descs)
	n := 0
	for d := range descs {
		m := fqName.FindStringSubmatch(d.String())
		require.NotNil(t, m, d.String())
		if !strings.HasPrefix(m[1], "mqlive_") {
			continue
		}
		n++
		require.Contains(t, string(readme), "`"+m[1], "README.md does not document %s", m[1])
	}
	require.GreaterOrEqual(t, n, 29)
}
