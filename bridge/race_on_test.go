//go:build race

package bridge_test

// raceEnabled: the race detector's instrumentation makes every goroutine's
// stack larger (an idle reader's is 8 KiB under it, 4 KiB without), so
// stack budgets are checked only without it (make test runs those tests
// both ways).
const raceEnabled = true
