package load

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/mqlive/mqlive/bridge/bridgetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	bridgetest.RemoveBinaries()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			os.Stderr.WriteString("goleak: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}
