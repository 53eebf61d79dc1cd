package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

// command encodes a dashboard command through the device's family and
// publishes it to the broker. Every command is counted and shown on the
// tenant's monitor channel, sent or not.
func (b *Bridge) command(ctx context.Context, id *auth.Identity, p wire.CommandParams) (err error) {
	family := "none"
	var msg devices.Message
	defer func() {
		outcome := "sent"
		var we *wire.Error
		switch {
		case errors.As(err, &we):
			outcome = "refused"
		case err != nil:
			outcome = "failed"
		}
		b.metrics.Commands.WithLabelValues(family, id.Tenant, outcome).Inc()
		b.monitorCommand(ctx, id, family, p, msg, outcome, err)
		b.hookCommand(id, family, p.Name, p.Device, msg, outcome, err)
	}()
	if !id.CanCommand(p.Device) {
		return wire.NewError(wire.CodeForbidden, "permission denied: token may not command this device")
	}
	// The device may be ingested by another node: its state, source and
	// topics come from the shared store, and the command goes to the
	// shared broker.
	info, found, serr := b.bp.store.Device(ctx, id.Tenant, p.Device)
	if serr != nil {
		return fmt.Errorf("command %s: read device: %w", p.Device, serr)
	}
	src, ok := b.commandSource(id.Tenant, info)
	if !found || !ok {
		return wire.NewError(wire.CodeInvalidParams, "invalid params: unknown device")
	}
	ds := devices.DeviceState{Reading: info.Reading, Topics: info.Topics}
	s := b.sources[src]
	family = s.handler.Family()
	if sc, ok := s.handler.(devices.StateCommander); ok {
		msg, err = sc.CommandWithState(s.base, ds, p.Name, p.Args)
	} else if cmdr, ok := s.handler.(devices.Commander); ok {
		msg, err = cmdr.Command(s.base, p.Device, p.Name, p.Args)
	} else {
		return wire.NewError(wire.CodeInvalidParams, "invalid params: family "+family+" does not accept commands")
	}
	if err != nil {
		return wire.NewError(wire.CodeInvalidParams, "invalid params: "+err.Error())
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := b.ingest.Publish(cctx, msg.Topic, msg.Payload, 1, false); err != nil {
		return fmt.Errorf("command %s/%s: %w", p.Device, p.Name, err)
	}
	b.log.Info("command sent", "tenant", id.Tenant, "user", id.User, "device", p.Device, "name", p.Name, "topic", msg.Topic)
	return nil
}

// commands lists the commands a device accepts, from its family
// (devices.CommandLister) and what the shared store knows of it. The list
// does not depend on the token; Allowed says whether this one may send
// them. An unknown device, or one of another tenant, is "unknown device".
func (b *Bridge) commands(ctx context.Context, id *auth.Identity, device string) (wire.CommandsResult, error) {
	res := wire.CommandsResult{Device: device, Allowed: id.CanCommand(device), Commands: []wire.CommandSpec{}}
	info, found, err := b.bp.store.Device(ctx, id.Tenant, device)
	if err != nil {
		return res, fmt.Errorf("commands %s: read device: %w", device, err)
	}
	src, ok := b.commandSource(id.Tenant, info)
	if !found || !ok {
		return res, wire.NewError(wire.CodeInvalidParams, "invalid params: unknown device")
	}
	s := b.sources[src]
	res.Family = s.handler.Family()
	lister, ok := s.handler.(devices.CommandLister)
	if !ok {
		return res, nil
	}
	for _, c := range lister.Commands(s.base, devices.DeviceState{Reading: info.Reading, Topics: info.Topics}) {
		res.Commands = append(res.Commands, wire.CommandSpec{Name: c.Name, Label: c.Label, Output: c.Output, Args: c.Args, Schema: c.Schema})
	}
	return res, nil
}

// commandEvent is the data of a monitor publication for a command.
type commandEvent struct {
	Command  string          `json:"command"`
	Device   string          `json:"device"`
	Args     json.RawMessage `json:"args,omitempty"`
	User     string          `json:"user"`
	Family   string          `json:"family"`
	Topic    string          `json:"topic,omitempty"`
	Payload  string          `json:"payload,omitempty"`
	Verdict  string          `json:"verdict"`
	Error    string          `json:"error,omitempty"`
	IssuedAt time.Time       `json:"issued_at"`
}

func (b *Bridge) monitorCommand(ctx context.Context, id *auth.Identity, family string, p wire.CommandParams, msg devices.Message, outcome string, err error) {
	if !b.monitored(id.Tenant) {
		return
	}
	ev := commandEvent{Command: p.Name, Device: p.Device, User: id.User, Family: family,
		Topic: msg.Topic, Verdict: outcome, IssuedAt: time.Now().UTC()}
	if json.Valid(p.Args) {
		ev.Args = p.Args
	}
	if utf8.Valid(msg.Payload) {
		ev.Payload = string(msg.Payload)
	}
	if err != nil {
		ev.Error = err.Error()
	}
	data, jerr := json.Marshal(ev)
	if jerr != nil {
		return
	}
	b.publishMonitor(ctx, id.Tenant, data)
}

// commandSource finds the configured source that owns a device: by its
// stable key (family and base) when the store has one, so that a changed
// source list (indexes shift, and nodes of a cluster may differ) never
// routes a command through another family; else by the stored index.
func (b *Bridge) commandSource(tenant string, info state.DeviceInfo) (int, bool) {
	if info.SourceKey != "" {
		for i := range b.sources {
			s := &b.sources[i]
			if s.tenant == tenant && state.SourceKey(s.handler.Family(), s.base) == info.SourceKey {
				return i, true
			}
		}
		return 0, false
	}
	if info.Source < 0 || info.Source >= len(b.sources) || b.sources[info.Source].tenant != tenant {
		return 0, false
	}
	return info.Source, true
}
