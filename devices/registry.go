package devices

import (
	"fmt"
	"sort"
)

// ValidFamily reports whether id can be a family id: 1..64 bytes of
// [a-z0-9_]. Family ids become metric labels, Valkey keys and topic
// segments, so they are checked once, here.
func ValidFamily(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("family id %q: want 1..64 bytes, have %d", id, len(id))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') {
			return fmt.Errorf("family id %q: byte %q at %d is not in [a-z0-9_]", id, c, i)
		}
	}
	return nil
}

// Builtin returns every shipped family at its defaults. The configurable
// json family is not here: it exists only once configured (NewJSON).
func Builtin() []Handler {
	return []Handler{
		Zigbee2MQTT{},
		Tasmota{},
		TTN{},
		OwnTracks{},
		Shelly{},
		NewHomie(),
		&HomeAssistant{},
		ESPHome{},
	}
}

// Registry is a set of families with distinct ids, each at its DefaultBase,
// whose filters do not overlap. It is immutable after NewRegistry and safe
// for concurrent use.
type Registry struct {
	byFamily map[string]Handler
	families []string
	router   *Router
}

// NewRegistry checks and indexes handlers. It fails on a nil handler, an
// invalid or duplicate family id, an invalid DefaultBase, a malformed filter
// at the DefaultBase, and filters of two handlers that overlap there.
func NewRegistry(handlers ...Handler) (*Registry, error) {
	r := &Registry{byFamily: make(map[string]Handler, len(handlers))}
	mounts := make([]Mount, 0, len(handlers))
	for i, h := range handlers {
		if h == nil {
			return nil, fmt.Errorf("devices: registry: handler %d is nil", i)
		}
		id := h.Family()
		if err := ValidFamily(id); err != nil {
			return nil, fmt.Errorf("devices: registry: %w", err)
		}
		if _, dup := r.byFamily[id]; dup {
			return nil, fmt.Errorf("devices: registry: duplicate family id %q", id)
		}
		r.byFamily[id] = h
		r.families = append(r.families, id)
		mounts = append(mounts, Mount{Base: h.DefaultBase(), Handler: h})
	}
	sort.Strings(r.families)
	router, err := NewRouter(mounts...)
	if err != nil {
		return nil, fmt.Errorf("devices: registry: %w", err)
	}
	r.router = router
	return r, nil
}

// Handler returns the handler of a family.
func (r *Registry) Handler(family string) (Handler, bool) {
	h, ok := r.byFamily[family]
	return h, ok
}

// Families returns the family ids, sorted. The slice is the caller's.
func (r *Registry) Families() []string {
	return append([]string(nil), r.families...)
}

// Lookup returns the handler whose filters at its DefaultBase match topic.
func (r *Registry) Lookup(topic string) (Handler, bool) {
	m, ok := r.router.Lookup(topic)
	return m.Handler, ok
}

// Filters returns every filter to subscribe for the families at their
// default bases.
func (r *Registry) Filters() []string { return r.router.Filters() }
