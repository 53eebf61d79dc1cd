package client

// offsetSamples is how many recent ping round trips the estimator keeps.
const offsetSamples = 8

// offsetEstimator estimates the server clock minus the client clock from
// ping round trips, NTP-style: a reply stamped server time s, for a ping
// sent at t0 and answered at t1 (client clock), gives offset
// s − (t0+t1)/2 with an error of at most half the round trip t1 − t0. The
// sample with the smallest round trip among the last offsetSamples is
// therefore the most trustworthy one, and queueing delays (a busy page, a
// snapshot on the wire) only ever make round trips longer.
//
// Not safe for concurrent use; the actor owns it. All values are ms.
type offsetEstimator struct {
	rtt, off [offsetSamples]float64
	n, next  int // samples held; the slot the next one overwrites
	// best is the current estimate. It outlives reset, so that a new
	// connection can measure before its first ping comes back.
	bestOff, bestRTT float64
	known            bool
}

// add takes one round trip and re-estimates.
func (e *offsetEstimator) add(sentAt, recvAt, serverMs float64) {
	rtt := recvAt - sentAt
	if rtt < 0 {
		return // the client clock went backwards: the sample is meaningless
	}
	e.rtt[e.next], e.off[e.next] = rtt, serverMs-(sentAt+recvAt)/2
	e.next = (e.next + 1) % offsetSamples
	if e.n < offsetSamples {
		e.n++
	}
	best := 0
	for i := 1; i < e.n; i++ {
		if e.rtt[i] < e.rtt[best] {
			best = i
		}
	}
	e.bestOff, e.bestRTT, e.known = e.off[best], e.rtt[best], true
}

// reset forgets the samples (a new connection may reach another node, or
// another network path) but keeps the last estimate until a new sample.
func (e *offsetEstimator) reset() { e.n, e.next = 0, 0 }

// offset returns the estimate and the round trip it came from.
func (e *offsetEstimator) offset() (off, rtt float64, ok bool) {
	return e.bestOff, e.bestRTT, e.known
}
