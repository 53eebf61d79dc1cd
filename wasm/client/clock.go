package client

// Clock supplies time to the client. The core does not import package time:
// merely linking it adds about 38 KB brotli to the WebAssembly build, and
// Go timers keep Node alive after Stop (WASM.md §4.3), while JavaScript's
// clearTimeout does not. The browser build uses setTimeout and
// performance.now; native builds use SystemClock.
//
// All durations and instants in this package are milliseconds.
type Clock interface {
	// Now returns the current time in Unix milliseconds. Only differences
	// and comparisons with RFC 3339 instants are used.
	Now() int64
	// AfterFunc calls f once after ms milliseconds, on any goroutine; f
	// must not block. The returned function cancels the call if it has not
	// started; calling it more than once is allowed.
	AfterFunc(ms int64, f func()) (stop func())
}

// FineClock is optionally implemented by a Clock with sub-millisecond
// resolution. Latency on a LAN or loopback is a few milliseconds, so whole
// milliseconds would put most samples in the first buckets by rounding
// alone; the client uses NowFine for latency and clock-offset measurement
// when the Clock has it.
type FineClock interface {
	// NowFine returns Unix milliseconds with a fraction, on the same
	// clock as Now.
	NowFine() float64
}

// nowFine reads c with the best resolution it offers.
func nowFine(c Clock) float64 {
	if f, ok := c.(FineClock); ok {
		return f.NowFine()
	}
	return float64(c.Now())
}

// Common durations, in milliseconds.
const (
	Millisecond int64 = 1
	Second            = 1000 * Millisecond
	Minute            = 60 * Second
)
