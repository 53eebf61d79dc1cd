//go:build js && wasm

package main

import "syscall/js"

// jsClock is client.Clock on JavaScript timers: package time stays out of
// the binary, and a cleared timer does not keep Node alive (WASM.md §4.3).
type jsClock struct{}

var (
	setTimeout   = js.Global().Get("setTimeout")
	clearTimeout = js.Global().Get("clearTimeout")
	performance  = js.Global().Get("performance")
	dateNow      = js.Global().Get("Date").Get("now")
)

// Now implements client.Clock.
func (c jsClock) Now() int64 { return int64(c.NowFine()) }

// NowFine implements client.FineClock: performance.timeOrigin +
// performance.now() is Unix milliseconds with a fraction (5–100 µs steps,
// depending on cross-origin isolation) that do not jump with the wall
// clock; the ping-estimated offset absorbs any difference from it.
func (jsClock) NowFine() float64 {
	if performance.Type() == js.TypeObject {
		if origin := performance.Get("timeOrigin"); origin.Type() == js.TypeNumber {
			return origin.Float() + performance.Call("now").Float()
		}
	}
	return dateNow.Invoke().Float()
}

// AfterFunc implements client.Clock. The callback releases its own func;
// stop clears the timer first, so a released func is never called.
func (jsClock) AfterFunc(ms int64, f func()) func() {
	var fn js.Func
	fired := false
	fn = js.FuncOf(func(js.Value, []js.Value) any {
		fired = true
		fn.Release()
		f() // only queues work for the actor: never blocks
		return nil
	})
	id := setTimeout.Invoke(fn, ms)
	stopped := false
	return func() {
		if fired || stopped {
			return
		}
		stopped = true
		clearTimeout.Invoke(id)
		fn.Release()
	}
}
