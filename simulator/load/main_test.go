package load

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"go.uber.org/goleak"

	"github.com/mqlive/mqlive/bridge/bridgetest"
)

func TestMain(m *testing.M) {
	// The tests start this binary as the reference server, as mqlive-sim
	// load --reference starts mqlive-sim.
	if len(os.Args) > 1 && os.Args[1] == ReferenceCommand {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		err := RunReference(ctx, os.Args[2:], os.Stderr)
		stop()
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
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
