package devices_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStandardLibraryOnly keeps the domain packages free of outside
// dependencies (ARCHITECTURE.md): devices and bridge/wire import only the
// standard library (and each other, and bridge/internal/jsonscan, wire's
// JSON scanner, which is held to the same rule).
func TestStandardLibraryOnly(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	// The domain packages may import each other (wire imports the protocol
	// constants) and the standard library, nothing else.
	domain := []string{"github.com/mqlive/mqlive/devices", "github.com/mqlive/mqlive/bridge/wire", "github.com/mqlive/mqlive/bridge/wire/protocol",
		"github.com/mqlive/mqlive/bridge/internal/jsonscan"}
	for _, pkg := range domain {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).CombinedOutput()
		require.NoError(t, err, string(out))
		for _, dep := range strings.Fields(string(out)) {
			require.True(t, slices.Contains(domain, dep),
				"%s depends on %s; the domain packages import the standard library only", pkg, dep)
		}
	}
}
