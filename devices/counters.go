package devices

// Counter is implemented by families that count events of their own,
// beyond Decode's verdicts: Sparkplug's stale NDEATHs (a will whose bdSeq
// is not the current birth's), unknown aliases, sequence gaps. The bridge
// exports them as mqlive_family_events_total{family, event}.
type Counter interface {
	// Counters returns each event's count since the handler was created.
	// Event names are metric label values: a small fixed set of
	// lower-case [a-z_] names.
	Counters() map[string]uint64
}
