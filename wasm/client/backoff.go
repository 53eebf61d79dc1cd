package client

import "math/rand/v2"

// Backoff returns the reconnect delay in milliseconds before attempt step (0 for the first
// retry) with "full jitter", as centrifuge-js computes it (WASM.md §5):
// interval = random in [0, min(max, min·2^step)], delay = min(max, min+interval).
// rnd returns a uniform int64 in [0, n); nil means math/rand/v2.
func Backoff(step int, minDelay, maxDelay int64, rnd func(n int64) int64) int64 {
	if minDelay <= 0 {
		minDelay = Millisecond
	}
	if maxDelay < minDelay {
		maxDelay = minDelay
	}
	if step < 0 {
		step = 0
	}
	if step > 31 {
		step = 31
	}
	if rnd == nil {
		rnd = rand.Int64N
	}
	// ceil = min(max, min·2^step), doubling without overflow.
	ceil := minDelay
	for i := 0; i < step && ceil < maxDelay; i++ {
		if ceil > maxDelay/2 {
			ceil = maxDelay
			break
		}
		ceil *= 2
	}
	if ceil > maxDelay {
		ceil = maxDelay
	}
	d := minDelay + rnd(ceil+1)
	if d > maxDelay {
		d = maxDelay
	}
	return d
}
