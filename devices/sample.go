package devices

import "hash/fnv"

// usageScale gives each simulated device its own steady consumption level,
// in [0.3, 1.7), from a hash of its name, so that cumulative counters such
// as energy differ between devices yet stay deterministic.
func usageScale(device string) float64 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(device))
	return 0.3 + float64(h.Sum32()%1400)/1000
}
