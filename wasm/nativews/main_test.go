//go:build !js

package nativews

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// The bridge under test runs fasthttp, whose worker pool and date
		// ticker park goroutines that outlive a server by design (the
		// bridge's own tests ignore the same two); everything the client
		// starts must be gone.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
	)
}
