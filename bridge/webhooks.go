package bridge

import (
	"context"

	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/webhook"
	"github.com/mqlive/mqlive/devices"
)

// The bridge's webhook hooks. Each is one call where its event happens
// (pipeline, sweep, command) and costs a nil or map check when no webhook
// wants the event; b.hooks is nil without webhooks, and a nil Dispatcher
// does nothing.

// newHooks builds the dispatcher of cfg.Webhooks; nil without any.
func (b *Bridge) newHooks() (*webhook.Dispatcher, error) {
	if len(b.cfg.Webhooks) == 0 {
		return nil, nil
	}
	return webhook.New(webhook.Config{Endpoints: b.cfg.webhookEndpoints(), Node: b.cfg.Node,
		Registerer: b.registry, Logger: b.log.With("component", "webhook")})
}

// availabilityChange returns the device.online or device.offline event r
// makes when it is merged, or nil: r is an availability signal whose state
// differs from the device's stored one. It reads the store before r is
// applied (only for availability signals some webhook wants). A device
// never seen whose first signal is a retained message yields nothing:
// that is the broker's memory of a state before this node started, not a
// transition.
func (b *Bridge) availabilityChange(ctx context.Context, tenant string, r *devices.Reading, retained bool) *availabilityEvent {
	if r.Online == nil {
		return nil
	}
	typ := webhook.EventDeviceOffline
	if *r.Online {
		typ = webhook.EventDeviceOnline
	}
	if !b.hooks.Wants(tenant, typ) {
		return nil
	}
	info, found, err := b.bp.store.Device(ctx, tenant, r.Device)
	switch {
	case err != nil:
		b.metrics.BackplaneErrors.WithLabelValues("webhook_device").Inc()
		return nil
	case found && info.Reading.Online != nil && *info.Reading.Online == *r.Online:
		return nil
	case (!found || info.Reading.Online == nil) && retained:
		return nil
	}
	online := *r.Online
	return &availabilityEvent{tenant: tenant, typ: typ, data: webhook.DeviceData{Device: r.Device, Family: r.Family,
		Online: &online, TS: r.TS.UTC(), Tags: r.Tags}}
}

// availabilityEvent is an event availabilityChange found, sent once its
// Reading is merged.
type availabilityEvent struct {
	tenant, typ string
	data        webhook.DeviceData
}

// sendAvailability emits ev (nil: nothing).
func (b *Bridge) sendAvailability(ev *availabilityEvent) {
	if ev != nil {
		b.hooks.Emit(ev.tenant, ev.typ, ev.data)
	}
}

// hookStale emits device.stale for a device the sweep just marked stale.
func (b *Bridge) hookStale(tenant string, r *devices.Reading) {
	if !b.hooks.Wants(tenant, webhook.EventDeviceStale) {
		return
	}
	b.hooks.Emit(tenant, webhook.EventDeviceStale, webhook.DeviceData{Device: r.Device, Family: r.Family,
		Online: r.Online, Stale: true, TS: r.TS.UTC(), Tags: r.Tags})
}

// hookCommand emits command.result for a dashboard command.
func (b *Bridge) hookCommand(id *auth.Identity, family, name, device string, msg devices.Message, outcome string, err error) {
	if !b.hooks.Wants(id.Tenant, webhook.EventCommandResult) {
		return
	}
	d := webhook.CommandData{Device: device, Command: name, User: id.User, Family: family, Topic: msg.Topic, Outcome: outcome}
	if err != nil {
		d.Error = err.Error()
	}
	b.hooks.Emit(id.Tenant, webhook.EventCommandResult, d)
}
