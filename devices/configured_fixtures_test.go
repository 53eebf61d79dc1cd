package devices_test

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
	"github.com/mqlive/mqlive/devices/devicestest"
)

// configuredFixtures runs every fixture file matching glob against a
// handler built from the file's config (decoded into a C).
func configuredFixtures[C any, H devices.Handler](t *testing.T, glob string, build func(C) (H, error)) {
	t.Helper()
	paths, err := filepath.Glob(glob)
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			f, err := devicestest.LoadFixture(p)
			require.NoError(t, err)
			var cfg C
			require.NoError(t, json.Unmarshal(f.Config, &cfg))
			h, err := build(cfg)
			require.NoError(t, err)
			devicestest.FixtureFile(t, h, p)
		})
	}
}
