package devices_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStandardLibraryOnly keeps the domain packages free of outside
// dependencies (ARCHITECTURE.md): devices and bridge/wire import only the
// standard library (and each other).
func TestStandardLibraryOnly(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	for _, pkg := range []string{"github.com/mqlive/mqlive/devices", "github.com/mqlive/mqlive/bridge/wire"} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).CombinedOutput()
		require.NoError(t, err, string(out))
		for _, dep := range strings.Fields(string(out)) {
			require.True(t, dep == pkg || dep == "github.com/mqlive/mqlive/devices",
				"%s depends on %s; the domain packages import the standard library only", pkg, dep)
		}
	}
}
