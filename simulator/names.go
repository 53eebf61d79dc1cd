package simulator

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
)

// Rooms and things that make realistic device names. Two-word rooms give
// names with spaces.
var (
	rooms = []string{"Kitchen", "Living Room", "Bedroom", "Office", "Garage", "Hallway",
		"Bathroom", "Garden", "Attic", "Basement", "Dining Room", "Guest Room", "Laundry Room"}
	twoWordRooms = []string{"Living Room", "Dining Room", "Guest Room", "Laundry Room"}
	things       = []string{"Plug", "Sensor", "Lamp", "Heater", "Fridge", "Desk", "Window", "Door"}
)

// streamKey derives a random stream id from a family, a device index and a
// purpose, so that every stream of a seed is independent of the others.
func streamKey(family string, index int, purpose string) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%d\x00%s", family, index, purpose)
	return h.Sum64()
}

// deviceNames returns n distinct names for family, a function of seed only.
//
// zigbee2mqtt friendly names are free text: the names mix a slug
// ("kitchen-sensor-03"), a room and thing with a slash ("Living Room/Plug
// 1": a space and a '/', which must stay data and never become routing),
// and plain words ("Office Lamp 02"). They never end in "/<digits>", which
// zigbee2mqtt reserves for endpoints. tasmota devices are named by their
// default %topic%, "tasmota_" and six hex digits of the MAC, one topic
// level. sparkplug_b ids are group/edge[/device]. Other families get a
// one-level slug.
func deviceNames(family string, n int, seed int64) []string {
	rnd := rand.New(rand.NewPCG(uint64(seed), streamKey(family, -1, "names")))
	names := make([]string, 0, n)
	seen := make(map[string]bool, n)
	pick := func(s []string) string { return s[rnd.IntN(len(s))] }
	for i := 0; len(names) < n; i++ {
		var name string
		switch family {
		case "zigbee2mqtt":
			switch i % 3 {
			case 0: // guarantees a space and a slash whenever n > 0
				name = fmt.Sprintf("%s/%s %d", pick(twoWordRooms), pick(things), i+1)
			case 1:
				name = fmt.Sprintf("%s-%s-%02d", slug(pick(rooms)), slug(pick(things)), i+1)
			default:
				name = fmt.Sprintf("%s %s %02d", pick(rooms), pick(things), i+1)
			}
		case "tasmota":
			name = fmt.Sprintf("tasmota_%06X", rnd.Uint32()&0xFFFFFF)
		case "sparkplug_b":
			// Sparkplug ids are <group>/<edge node> or
			// <group>/<edge node>/<device>; alternate both.
			name = fmt.Sprintf("plant-%d/edge-%02d", 1+i%2, i+1)
			if i%2 == 1 {
				name += "/" + slug(pick(things))
			}
		default:
			name = fmt.Sprintf("%s-%s-%02d", slug(pick(rooms)), slug(pick(things)), i+1)
		}
		if seen[name] {
			continue // only tasmota's random MACs can collide
		}
		seen[name] = true
		names = append(names, name)
	}
	return names
}

func slug(s string) string { return strings.ReplaceAll(strings.ToLower(s), " ", "-") }
