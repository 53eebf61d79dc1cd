package sparkplug

import (
	"testing"

	"go.uber.org/goleak"
)

// The conformance kit decodes from several goroutines; none may outlive a test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
