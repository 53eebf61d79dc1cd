package fanout

import (
	"context"

	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

// Fanout publishes to channels and delivers the channels this node
// subscribes to its Handler.
type Fanout interface {
	// Publish appends data to ch through the store and fans it out to
	// every subscribed node, atomically: the offset the store assigns is
	// the order in which every node delivers. r is the Reading data
	// encodes, or nil. The returned publication may have no Frame (the
	// memory fan-out builds it only when it delivers).
	Publish(ctx context.Context, tenant string, ch wire.Channel, data []byte, r *devices.Reading) (*state.Publication, error)
	// Subscribe starts delivering the channel to this node's Handler. It
	// returns once the subscription is in place, so that a publication
	// made after it returns is delivered.
	Subscribe(ctx context.Context, tenant, channel string) error
	// Unsubscribe stops delivering the channel to this node.
	Unsubscribe(ctx context.Context, tenant, channel string) error
}

// Handler receives what a node's fan-out subscriptions deliver.
type Handler interface {
	// Deliver hands over one publication of a subscribed channel.
	Deliver(tenant string, p *state.Publication)
	// Lost says that publications of a subscribed channel may have been
	// missed (the upstream connection was interrupted), so subscribers must
	// re-sync from the store.
	Lost(tenant, channel string)
}
