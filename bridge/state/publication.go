package state

import (
	"time"

	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

// Publication is one entry of a channel: the wire publication, its
// prebuilt message frame, and for device Readings the Reading itself so that
// latest-mode subscribers can merge several into one.
type Publication struct {
	wire.Publication
	// Frame is the complete "message" notification, built once and shared
	// by every subscriber.
	Frame []byte
	// Reading is set when Data is a Reading (devices, device and tag
	// channels); nil for app, user and monitor payloads.
	Reading *devices.Reading
	// Time is when the publication was appended.
	Time time.Time
}

// NewPublication builds a publication and its shared message frame; stores
// that read publications back (package valkey) use it too.
func NewPublication(channel, epoch string, offset uint64, data []byte, r *devices.Reading, now time.Time) *Publication {
	p := newPublication(channel, epoch, offset, data, r, now)
	p.BuildFrame()
	return p
}

// newPublication is a publication without its frame.
func newPublication(channel, epoch string, offset uint64, data []byte, r *devices.Reading, now time.Time) *Publication {
	return &Publication{
		Publication: wire.Publication{Channel: channel, Epoch: epoch, Offset: offset, Data: data},
		Reading:     r,
		Time:        now,
	}
}

// BuildFrame builds p's message frame if it has none. It must run before
// p is shared (Tenant.Append leaves the frame to the caller, which builds
// it only when a subscriber will read it).
func (p *Publication) BuildFrame() {
	if p.Frame == nil {
		p.Frame = wire.AppendMessage(make([]byte, 0, len(p.Data)+len(p.Channel)+96), &p.Publication)
	}
}
