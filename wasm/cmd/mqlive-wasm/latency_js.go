//go:build js && wasm

package main

import (
	"syscall/js"

	"github.com/mqlive/mqlive/wasm/client"
)

// latencyFn(id) resolves to the client-side delivery latency statistics.
func latencyFn(_ js.Value, args []js.Value) any {
	p, resolve, reject := newPromise()
	c := reg.get(args)
	if c == nil {
		reject(client.ErrClosed)
		return p
	}
	c.Latency(func(s client.LatencyStats) { resolve(latencyJS(s)) })
	return p
}

// latencyJS renders the statistics in milliseconds; what is not known yet
// (no samples, no offset estimate) is null rather than a misleading 0.
func latencyJS(s client.LatencyStats) js.Value {
	o := object()
	o.Set("count", float64(s.Count))
	o.Set("p50", js.Null())
	o.Set("p99", js.Null())
	if s.Count > 0 {
		o.Set("p50", s.P50)
		o.Set("p99", s.P99)
	}
	o.Set("offsetMs", js.Null())
	o.Set("rttMs", js.Null())
	if s.OffsetKnown {
		o.Set("offsetMs", s.OffsetMs)
		o.Set("rttMs", s.RTTMs)
	}
	o.Set("reported", float64(s.Reported))
	o.Set("pending", float64(s.Pending))
	return o
}
