package bridge_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge"
	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/webhook"
	"github.com/mqlive/mqlive/bridge/wire"
)

const hookSecret = "e2e-webhook-secret-0123456789"

// hookEvent is a delivery the receiver verified.
type hookEvent struct {
	webhook.Event
	Data json.RawMessage `json:"data"`
}

// hookReceiver is a real HTTP server on loopback that accepts only
// correctly signed deliveries.
type hookReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	events []hookEvent
	bad    int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		err := webhook.Verify(hookSecret, r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), body, time.Minute, time.Now())
		var ev hookEvent
		h.mu.Lock()
		defer h.mu.Unlock()
		if err != nil || json.Unmarshal(body, &ev) != nil {
			h.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		h.events = append(h.events, ev)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// waitEvent waits for the first delivered event of type typ whose data
// matches.
func (h *hookReceiver) waitEvent(t *testing.T, typ string, match func(json.RawMessage) bool) hookEvent {
	t.Helper()
	var got hookEvent
	bridgetest.Eventually(t, 15*time.Second, func() error {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, ev := range h.events {
			if ev.Type == typ && match(ev.Data) {
				got = ev
				return nil
			}
		}
		return fmt.Errorf("no %s event among %d", typ, len(h.events))
	})
	return got
}

func (h *hookReceiver) types(device string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, ev := range h.events {
		var d webhook.DeviceData
		if strings.HasPrefix(ev.Type, "device.") && json.Unmarshal(ev.Data, &d) == nil && d.Device == device {
			out = append(out, ev.Type)
		}
	}
	return out
}

func deviceIs(id string) func(json.RawMessage) bool {
	return func(raw json.RawMessage) bool {
		var d webhook.DeviceData
		return json.Unmarshal(raw, &d) == nil && d.Device == id
	}
}

// TestWebhooksEndToEnd runs a bridge with its embedded broker and a webhook
// for tenant acme: a device going offline, then online, produces one signed
// POST each (a repeated offline none); a device that falls silent produces
// device.stale; a burst of bad payloads produces one source.rejected with
// counts by reason; a command produces command.result. Tenant globex's
// device going offline produces nothing.
func TestWebhooksEndToEnd(t *testing.T) {
	rcv := newHookReceiver(t)
	b := bridgetest.Start(t, twoTenants, func(c *bridge.Config) {
		c.Sources[0].Stale = 1500 * time.Millisecond
		c.Webhooks = []bridge.WebhookConfig{{Name: "ops", URL: rcv.srv.URL + "/hook", Secret: hookSecret, Tenants: []string{"acme"},
			RejectedThreshold: 3, RejectedWindow: 300 * time.Millisecond, InitialBackoff: 50 * time.Millisecond, MaxBackoff: time.Second}}
	})

	b.Publish(t, "acme/zigbee2mqtt/kitchen", []byte(`{"temperature":21.5}`))
	b.Publish(t, "acme/zigbee2mqtt/kitchen/availability", []byte(`{"state":"offline"}`))
	off := rcv.waitEvent(t, webhook.EventDeviceOffline, deviceIs("kitchen"))
	require.Equal(t, "acme", off.Tenant)
	require.Equal(t, "test-node", off.Node)
	var d webhook.DeviceData
	require.NoError(t, json.Unmarshal(off.Data, &d))
	require.Equal(t, "zigbee2mqtt", d.Family)
	require.NotNil(t, d.Online)
	require.False(t, *d.Online)
	require.Equal(t, map[string]string{"site": "hq"}, d.Tags)

	b.Publish(t, "acme/zigbee2mqtt/kitchen/availability", []byte(`{"state":"offline"}`)) // no change
	b.Publish(t, "acme/zigbee2mqtt/kitchen/availability", []byte(`{"state":"online"}`))
	rcv.waitEvent(t, webhook.EventDeviceOnline, deviceIs("kitchen"))

	b.Publish(t, "globex/zigbee2mqtt/lab/availability", []byte(`{"state":"offline"}`))

	for range 3 {
		b.Publish(t, "acme/zigbee2mqtt/hall", []byte(`{"temperature":`))
	}
	rej := rcv.waitEvent(t, webhook.EventSourceRejected, func(json.RawMessage) bool { return true })
	var rd webhook.RejectedData
	require.NoError(t, json.Unmarshal(rej.Data, &rd))
	require.Equal(t, "zigbee2mqtt", rd.Family)
	require.Equal(t, "acme/zigbee2mqtt", rd.Base)
	require.Equal(t, 3, rd.Total)
	require.Len(t, rd.Reasons, 1)

	rcv.waitEvent(t, webhook.EventDeviceStale, deviceIs("kitchen"))

	c := bridgetest.Dial(t, b.WSURL)
	c.Connect(b.Token(t, "alice", "acme", func(c *auth.Claims) { c.Cmd = []string{"kitchen"} }))
	_, werr := c.Call(wire.MethodCommand, wire.CommandParams{Device: "kitchen", Name: "set", Args: json.RawMessage(`{"state":"ON"}`)})
	require.Nil(t, werr)
	cmd := rcv.waitEvent(t, webhook.EventCommandResult, func(json.RawMessage) bool { return true })
	var cd webhook.CommandData
	require.NoError(t, json.Unmarshal(cmd.Data, &cd))
	require.Equal(t, webhook.CommandData{Device: "kitchen", Command: "set", User: "alice", Family: "zigbee2mqtt",
		Topic: "acme/zigbee2mqtt/kitchen/set", Outcome: "sent"}, cd)

	require.Equal(t, []string{webhook.EventDeviceOffline, webhook.EventDeviceOnline, webhook.EventDeviceStale}, rcv.types("kitchen"),
		"one event per transition, none for the repeated offline")
	require.Empty(t, rcv.types("lab"), "globex is not in the webhook's tenants")
	rcv.mu.Lock()
	require.Zero(t, rcv.bad, "every delivery was signed")
	rcv.mu.Unlock()
	bridgetest.Eventually(t, 5*time.Second, func() error {
		if n := webhookCount(t, b, "delivered"); n != 5 {
			return fmt.Errorf("delivered %v, want 5", n)
		}
		return nil
	})
}

// webhookCount is mqlive_webhook_deliveries_total of webhook "ops" with
// the outcome.
func webhookCount(t *testing.T, b *bridgetest.Bridge, outcome string) float64 {
	t.Helper()
	if v, ok := gatheredCounter(t, b, "mqlive_webhook_deliveries_total", map[string]string{"webhook": "ops", "outcome": outcome}); ok {
		return v
	}
	return -1
}

// TestHangingWebhookNeverBlocksIngest: a receiver that accepts
// connections and never answers holds the webhook's one worker; the
// availability transitions it is sent pile into the bounded queue and the
// oldest are dropped, while every Reading still reaches a dashboard.
func TestHangingWebhookNeverBlocksIngest(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(hang) }) // runs first: the server can then close
	b := bridgetest.Start(t, func(c *bridge.Config) {
		c.Webhooks = []bridge.WebhookConfig{{Name: "ops", URL: srv.URL, Secret: hookSecret, QueueSize: 4, Workers: 1, Timeout: time.Minute}}
	})
	c := bridgetest.Dial(t, b.WSURL)
	c.Connect(b.Token(t, "alice", "default"))
	c.MustCall(wire.MethodSubscribe, wire.SubscribeParams{Channel: "device:door"}, nil)
	const n = 100
	for i := range n {
		state := "online"
		if i%2 == 1 {
			state = "offline"
		}
		b.Publish(t, "zigbee2mqtt/door/availability", []byte(`{"state":"`+state+`"}`))
	}
	b.Publish(t, "zigbee2mqtt/door", []byte(`{"contact":true}`))
	got := 0
	for {
		p, ok := c.NextMessage(10 * time.Second)
		require.True(t, ok, "ingest stalled after %d of %d Readings", got, n+1)
		got++
		if r := reading(t, p); r.Metrics["contact"] == true {
			break
		}
	}
	require.Equal(t, n+1, got, "every Reading reached the dashboard")
	// One transition is held by the hanging worker, four are queued, the
	// rest were dropped.
	require.Equal(t, float64(n-1-4), webhookCount(t, b, "dropped"))
	require.Zero(t, webhookCount(t, b, "delivered"))
}
