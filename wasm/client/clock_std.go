//go:build !js

package client

import "time"

// SystemClock is the Clock of native builds, on package time.
type SystemClock struct{}

var (
	_ Clock     = SystemClock{}
	_ FineClock = SystemClock{}
)

// Now implements Clock.
func (SystemClock) Now() int64 { return time.Now().UnixMilli() }

// NowFine implements FineClock, in microsecond steps.
func (SystemClock) NowFine() float64 { return float64(time.Now().UnixMicro()) / 1000 }

// AfterFunc implements Clock.
func (SystemClock) AfterFunc(ms int64, f func()) func() {
	t := time.AfterFunc(time.Duration(ms)*time.Millisecond, f)
	return func() { t.Stop() }
}

func defaultClock() Clock { return SystemClock{} }
