package bridge

import (
	"context"
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

// monitorEvent is the data of a monitor channel publication.
type monitorEvent struct {
	Topic      string    `json:"topic"`
	Payload    string    `json:"payload,omitempty"`
	PayloadB64 []byte    `json:"payload_base64,omitempty"`
	Truncated  bool      `json:"truncated,omitempty"`
	Size       int       `json:"size"`
	Retained   bool      `json:"retained,omitempty"`
	Family     string    `json:"family"`
	Verdict    string    `json:"verdict"`
	Reason     string    `json:"reason,omitempty"`
	Error      string    `json:"error,omitempty"`
	Readings   int       `json:"readings"`
	ReceivedAt time.Time `json:"received_at"`
}

const monitorMaxPayload = 4 << 10

// monitor publishes the raw message and its verdict to the tenant's
// monitor channel, only when an admin watches it.
func (b *Bridge) monitor(ctx context.Context, tenant, family string, m devices.Message, verdict, reason string, err error, n int) {
	if !b.monitored(tenant) {
		return
	}
	ev := monitorEvent{Topic: m.Topic, Size: len(m.Payload), Retained: m.Retained, Family: family,
		Verdict: verdict, Reason: reason, Readings: n, ReceivedAt: m.ReceivedAt}
	if err != nil {
		ev.Error = err.Error()
	}
	p := m.Payload
	if len(p) > monitorMaxPayload {
		p, ev.Truncated = p[:monitorMaxPayload], true
	}
	if utf8.Valid(p) {
		ev.Payload = string(p)
	} else {
		ev.PayloadB64 = p
	}
	data, jerr := json.Marshal(ev)
	if jerr != nil {
		return
	}
	b.publishMonitor(ctx, tenant, data)
}

func (b *Bridge) publishMonitor(ctx context.Context, tenant string, data []byte) {
	ch := wire.Channel{Name: auth.MonitorChannel, Kind: wire.KindMonitor}
	// Monitor events are a debugging aid: one try, no retry that would
	// hold up ingest while the backplane is away.
	if _, err := b.bp.fanout.Publish(ctx, tenant, ch, data, nil); err != nil {
		b.metrics.BackplaneErrors.WithLabelValues("monitor").Inc()
		return
	}
	b.metrics.Publications.WithLabelValues(string(wire.KindMonitor)).Inc()
}

// monitored reports whether anyone watches the tenant's monitor channel:
// on one node the hub knows; in a cluster the watcher may be on another
// node, so presence is asked once a second (refreshMonitorInterest).
func (b *Bridge) monitored(tenant string) bool {
	if b.hub.HasSubscribers(tenant, auth.MonitorChannel) {
		return true
	}
	v, ok := b.monitorWanted.Load(tenant)
	return ok && v.(bool)
}

// refreshMonitorInterest asks presence, for every tenant with a source,
// whether a monitor subscriber exists on any node.
func (b *Bridge) refreshMonitorInterest(ctx context.Context) {
	if b.cfg.Cluster.Backplane != BackplaneValkey {
		return
	}
	seen := map[string]bool{}
	for _, s := range b.sources {
		if seen[s.tenant] {
			continue
		}
		seen[s.tenant] = true
		clients, err := b.bp.presence.List(ctx, s.tenant, auth.MonitorChannel)
		if err != nil {
			continue
		}
		b.monitorWanted.Store(s.tenant, len(clients) > 0)
	}
}
