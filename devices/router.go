package devices

import (
	"errors"
	"fmt"
	"strings"
)

// Mount is one configured source: a family's handler at a base topic, whose
// messages belong to a tenant. The tenant comes from configuration only; a
// payload never chooses it (READINGS.md, Identity).
type Mount struct {
	Tenant  string
	Base    string
	Handler Handler
	// Devices, when set, name the devices of a family whose device owns a
	// topic prefix of its own (RootDevices): the source subscribes
	// "<base>/<id>/#" for each id instead of the handler's filters, so it
	// sits beside other sources at the broker's root without claiming
	// their topics.
	Devices []string
}

// RootDevices is implemented by families whose device owns a topic prefix
// of its own, directly below the base: ESPHome (topic_prefix defaults to
// the node name), Shelly Gen2/Gen3 (topic_prefix defaults to the device
// id), Tasmota with %topic% first in its FullTopic. Their Decode with that
// base reads the levels below it as the device, so a Mount may list its
// devices (Mount.Devices).
type RootDevices interface {
	Handler
	// RootDevice returns nil when the handler, as configured, decodes
	// "<base>/<id>/…" topics with id as the device, and says why not
	// otherwise (ESPHome: a node name is one level).
	RootDevice(id string) error
}

// ValidDeviceRoot reports whether id can be listed in Mount.Devices: a
// topic name without wildcards, not starting with '$', that passes
// CheckDeviceID (no empty, "." or ".." level, no control character or
// placeholder, at most MaxDeviceIDLen bytes).
func ValidDeviceRoot(id string) error {
	if err := ValidTopic(id); err != nil {
		return fmt.Errorf("device %q: %w", id, err)
	}
	if strings.HasPrefix(id, "$") {
		return fmt.Errorf("device %q: topics starting with '$' are the broker's [MQTT-4.7.2-1]", id)
	}
	if err := CheckDeviceID(id); err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			return fmt.Errorf("device %q: %w", id, de.Err)
		}
		return err
	}
	return nil
}

// Filters returns the topic filters of the mount: the handler's under the
// base, or "<base>/<id>/#" per listed device.
func (m Mount) Filters() []string {
	if len(m.Devices) == 0 {
		return m.Handler.Filters(m.Base)
	}
	fs := make([]string, len(m.Devices))
	for i, id := range m.Devices {
		fs[i] = JoinBase(m.Base, id) + "/#"
	}
	return fs
}

// checkDevices checks a mount's device list.
func (m Mount) checkDevices() error {
	if len(m.Devices) == 0 {
		return nil
	}
	return CheckDevices(m.Handler, m.Devices)
}

// CheckDevices reports whether ids can be the Devices of a mount of h:
// h implements RootDevices and accepts each id, every id is valid
// (ValidDeviceRoot) and listed once.
func CheckDevices(h Handler, ids []string) error {
	rd, ok := h.(RootDevices)
	if !ok {
		return fmt.Errorf("family %s does not take devices (its devices do not own a topic prefix)", h.Family())
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if err := ValidDeviceRoot(id); err != nil {
			return err
		}
		if err := rd.RootDevice(id); err != nil {
			return fmt.Errorf("device %q: %w", id, err)
		}
		if seen[id] {
			return fmt.Errorf("device %q is listed twice", id)
		}
		seen[id] = true
	}
	return nil
}

// String names the source in errors and logs.
func (m Mount) String() string {
	family := "<nil>"
	if m.Handler != nil {
		family = m.Handler.Family()
	}
	if len(m.Devices) > 0 {
		return fmt.Sprintf("%s source (tenant %q, base %q, devices %q)", family, m.Tenant, m.Base, m.Devices)
	}
	return fmt.Sprintf("%s source (tenant %q, base %q)", family, m.Tenant, m.Base)
}

// Router finds the source a topic arrived through. Filters of different
// mounts never overlap, so at most one mount matches any topic: a message
// can never be decoded for two tenants. A Router is immutable after
// NewRouter and safe for concurrent use.
type Router struct {
	mounts  []Mount
	filters []string
	root    *node
}

// node is one level of the filter trie. Lookup walks topic levels through
// literal children and '+' children; '#' ends a filter at any node.
type node struct {
	lit  map[string]*node
	plus *node
	hash int // mount index + 1 of a filter ending in "#" below this node
	end  int // mount index + 1 of a filter ending exactly at this node
}

// NewRouter checks mounts and builds the lookup trie. It fails on a nil
// handler, an invalid family id or base, a device list on a family that
// does not take one or with an invalid id, a malformed filter, and on
// filters of two different mounts that overlap (the error names both
// sources).
func NewRouter(mounts ...Mount) (*Router, error) {
	r := &Router{mounts: append([]Mount(nil), mounts...), root: &node{}}
	type owned struct {
		filter string
		mount  int
	}
	var all []owned
	seen := make(map[string]bool)
	for i, m := range r.mounts {
		if m.Handler == nil {
			return nil, fmt.Errorf("router: mount %d has no handler", i)
		}
		if err := ValidFamily(m.Handler.Family()); err != nil {
			return nil, fmt.Errorf("router: %v: %w", m, err)
		}
		if err := ValidBase(m.Base); err != nil {
			return nil, fmt.Errorf("router: %v: %w", m, err)
		}
		if err := m.checkDevices(); err != nil {
			return nil, fmt.Errorf("router: %v: %w", m, err)
		}
		fs := m.Filters()
		if len(fs) == 0 {
			return nil, fmt.Errorf("router: %v: handler has no filters", m)
		}
		for _, f := range fs {
			if err := ValidFilter(f); err != nil {
				return nil, fmt.Errorf("router: %v: %w", m, err)
			}
			for _, o := range all {
				if o.mount != i && Overlap(o.filter, f) {
					return nil, fmt.Errorf("router: filter %q of %v overlaps filter %q of %v",
						f, m, o.filter, r.mounts[o.mount])
				}
			}
			all = append(all, owned{f, i})
			r.insert(f, i+1)
			if !seen[f] {
				seen[f] = true
				r.filters = append(r.filters, f)
			}
		}
	}
	return r, nil
}

func (r *Router) insert(filter string, id int) {
	n := r.root
	for rest := filter; ; {
		level, next, more := cutLevel(rest)
		if level == "#" {
			if n.hash == 0 {
				n.hash = id
			}
			return
		}
		var child *node
		if level == "+" {
			if n.plus == nil {
				n.plus = &node{}
			}
			child = n.plus
		} else {
			if n.lit == nil {
				n.lit = make(map[string]*node)
			}
			if child = n.lit[level]; child == nil {
				child = &node{}
				n.lit[level] = child
			}
		}
		n = child
		if !more {
			if n.end == 0 {
				n.end = id
			}
			return
		}
		rest = next
	}
}

// Lookup returns the mount whose filters match topic. It does not allocate.
func (r *Router) Lookup(topic string) (Mount, bool) {
	i, ok := r.LookupIndex(topic)
	if !ok {
		return Mount{}, false
	}
	return r.mounts[i], true
}

// LookupIndex is Lookup returning the position of the mount in the list
// given to NewRouter, so callers can keep per-source data in a slice.
func (r *Router) LookupIndex(topic string) (int, bool) {
	if topic == "" {
		return 0, false
	}
	// A wildcard first level never matches a '$' topic [MQTT-4.7.2-1].
	if id := r.root.find(topic, strings.HasPrefix(topic, "$")); id > 0 {
		return id - 1, true
	}
	return 0, false
}

// find matches the remaining topic t (at least one level) below n.
func (n *node) find(t string, noWild bool) int {
	if !noWild && n.hash > 0 {
		return n.hash
	}
	level, rest, more := cutLevel(t)
	if c := n.lit[level]; c != nil {
		if id := c.step(rest, more); id > 0 {
			return id
		}
	}
	if !noWild && n.plus != nil {
		return n.plus.step(rest, more)
	}
	return 0
}

func (n *node) step(rest string, more bool) int {
	if !more {
		if n.end > 0 {
			return n.end
		}
		return n.hash // "a/#" matches "a" (MQTT §4.7.1.2)
	}
	return n.find(rest, false)
}

// Filters returns every filter to subscribe, each once, in mount order.
func (r *Router) Filters() []string { return append([]string(nil), r.filters...) }

// Mounts returns the mounts in the order given to NewRouter.
func (r *Router) Mounts() []Mount { return append([]Mount(nil), r.mounts...) }
