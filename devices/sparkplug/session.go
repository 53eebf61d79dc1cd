package sparkplug

import "sync"

// Bounds of the session memory. A Sparkplug edge node typically births tens
// to a few thousand metrics and at most a few hundred devices; a plant-wide
// namespace has hundreds to a few thousand edge nodes.
const (
	// MaxNodes is how many edge nodes one SparkplugB remembers; beyond it
	// the least recently used is forgotten.
	MaxNodes = 10000
	// MaxDevicesPerNode is how many devices of one edge node are
	// remembered; a DBIRTH beyond it is rejected.
	MaxDevicesPerNode = 1000
)

// nodeKey identifies an edge node: the same group and edge id under two
// bases are different nodes.
type nodeKey struct{ base, group, edge string }

// metricDef is what a birth certificate says about one metric.
type metricDef struct {
	name     string
	datatype uint32
	key      string // the Reading field name (metricKey), computed once per birth
	unit     string // the engineering unit the birth declared, if any
}

// birthSet is the metric definitions of one birth (NBIRTH or DBIRTH).
// It is immutable once built, so a Decode may keep using it after the lock
// is released even if a rebirth replaces it meanwhile.
type birthSet struct {
	byAlias map[uint64]metricDef
	byName  map[string]metricDef
	alias   map[string]uint64 // name → alias, for commands
}

// node is one edge node's current session.
type node struct {
	hasBdSeq bool
	bdSeq    uint64
	seq      int // last seq seen, -1 before any
	metrics  *birthSet
	devices  map[string]*birthSet
	lastUse  uint64
}

// sessions is the bounded session memory.
type sessions struct {
	mu    sync.Mutex
	nodes map[nodeKey]*node
	clock uint64 // logical time for LRU eviction
}

// get returns the node for k, creating it when create is set; nil when
// absent and not created. Callers hold s.mu.
func (s *sessions) get(k nodeKey, create bool) (n *node, evicted bool) {
	s.clock++
	n = s.nodes[k]
	if n == nil && create {
		if s.nodes == nil {
			s.nodes = make(map[nodeKey]*node)
		}
		if len(s.nodes) >= MaxNodes {
			s.evictOldest()
			evicted = true
		}
		n = &node{seq: -1}
		s.nodes[k] = n
	}
	if n != nil {
		n.lastUse = s.clock
	}
	return n, evicted
}

// evictOldest forgets the least recently used node. It scans the map: it
// runs only when a new node is born into a full memory, and a scan of
// MaxNodes entries is microseconds.
func (s *sessions) evictOldest() {
	var oldest nodeKey
	first := true
	var min uint64
	for k, n := range s.nodes {
		if first || n.lastUse < min {
			oldest, min, first = k, n.lastUse, false
		}
	}
	delete(s.nodes, oldest)
}

// seqStep records seq for n and reports whether it was the expected one:
// each message of an edge node's session carries seq one more than the
// previous, wrapping 255 → 0 (tck-id-payloads-sequence-num-incrementing).
// Callers hold s.mu.
func (n *node) seqStep(seq uint64) (inOrder bool) {
	inOrder = n.seq < 0 || seq == uint64((n.seq+1)%256)
	n.seq = int(seq % 256)
	return inOrder
}
